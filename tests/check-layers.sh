#!/bin/sh
# The layering of src/ (docs/architecture.md): base <- os <- {unit, store,
# cassette, lockstep, mux} <- session <- runner <- slurm <- run <- tool.
#
# 1. Includes: a module includes no header of a module above it. Public
#    headers (<proctor/...>) are open to everyone; the tool may include
#    nothing from src/ at all.
# 2. Calls (with BUILD, the build directory): no module but src/os calls
#    an OS function. The undefined symbols of each module's objects
#    (nm -u) are compared with the list of OS functions below. Modules
#    listed in EXCLUDED would be reported, not failed (none are).
#
# usage: check-layers.sh [TOP [BUILD]]; one pass of grep/awk and one nm
# per module (well under a second).
top=${1:-.}
build=${2:-}
status=0

# ---- 1. includes
out=$(grep -Hn '^#[[:space:]]*include[[:space:]]*"[a-z]*/' "$top"/src/*/*.[ch] 2>/dev/null |
awk '
function allowed(m) {
	if (m == "base") return " base ";
	if (m == "os") return " base os ";
	if (m == "unit" || m == "store" || m == "cassette" || m == "lockstep" || m == "mux")
		return " base os " m " ";
	if (m == "session") return " base os unit store session ";
	if (m == "runner") return " base os unit store session mux cassette runner ";
	if (m == "slurm") return " base os unit store session runner slurm ";
	if (m == "run") return " base os unit store session runner slurm run ";
	return " ";
}
{
	file = $0; sub(/:.*/, "", file)
	n = split(file, parts, "/"); m = parts[n - 1]
	dep = $0; sub(/.*include[[:space:]]*"/, "", dep); sub(/\/.*/, "", dep)
	if (index(allowed(m), " " dep " ") == 0)
		print file ": includes " dep "/, not allowed for " m ": " $0
}')
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	status=1
fi

# ---- 2. calls
# OS functions (system calls and their libc wrappers) only src/os calls.
os_calls='open open64 openat openat64 creat close read write pread pread64
pwrite pwrite64 readv writev lseek lseek64 stat stat64 fstat fstat64 lstat
lstat64 fstatat fstatat64 statx access faccessat mkdir mkdirat rmdir unlink
unlinkat rename renameat renameat2 link linkat symlink symlinkat readlink
readlinkat chmod fchmod chown fchown truncate ftruncate ftruncate64 fsync
fdatasync flock fcntl fcntl64 ioctl dup dup2 dup3 pipe pipe2 opendir
fdopendir readdir readdir64 closedir scandir getdents64 mmap mmap64 munmap fork
vfork execve execvp execv posix_spawn posix_spawnp waitpid wait4 waitid
kill killpg getpid getppid setsid setpgid socket bind connect listen accept
accept4 send recv sendto recvfrom sendmsg recvmsg setsockopt getsockopt
shutdown poll ppoll select pselect epoll_create epoll_create1 epoll_ctl
epoll_wait epoll_pwait eventfd signalfd inotify_init inotify_init1
inotify_add_watch inotify_rm_watch pidfd_open clock_gettime gettimeofday
time nanosleep usleep sleep getrandom getcwd chdir fchdir realpath mkstemp
mkostemp mkdtemp tmpfile fopen fopen64 fdopen fclose sigprocmask
pthread_sigmask sigaction signal alarm timerfd_create prctl syscall sysconf
getuid geteuid getrlimit setrlimit'
# Modules whose OS calls may be reported but not failed (none left: every
# module calls the OS through src/os). tool: a program, not a module of
# the library (it opens report files, blocks signals).
EXCLUDED=''
if [ -n "$build" ]; then
	if ! command -v nm >/dev/null 2>&1; then
		echo "nm not found: calls not checked"
	else
		list=$(printf '%s\n' $os_calls)
		for lib in "$build"/src/*/libpt_*.a; do
			[ -e "$lib" ] || continue
			m=$(basename "$lib" .a)
			m=${m#libpt_}
			[ "$m" = os ] && continue
			bad=$(nm -u -A "$lib" 2>/dev/null | awk '{print $NF, $1}' |
				awk -v list="$list" '
				BEGIN { n = split(list, v, "\n"); for (i = 1; i <= n; i++) os[v[i]] = 1 }
				{ s = $1; sub(/@.*/, "", s); if (s in os) {
					o = $2; sub(/:$/, "", o); sub(/.*:/, "", o); sub(/.*\//, "", o); sub(/\.o$/, "", o)
					print o ": " s } }' | sort -u)
			[ -z "$bad" ] && continue
			case " $EXCLUDED " in
			*" $m "*)
				echo "excluded (owned by other work): src/$m calls" \
					$(printf '%s\n' "$bad" | sed 's/.*: //' | sort -u) ;;
			*)
				printf '%s\n' "$bad" | sed "s|^|src/$m/|; s|\$| (an OS call outside src/os)|"
				status=1 ;;
			esac
		done
	fi
fi

[ $status -eq 0 ] && echo "layers ok"
if [ -n "${PT_TALLY:-}" ]; then
	if [ $status -eq 0 ]; then echo "1 0"; else echo "0 1"; fi >>"$PT_TALLY"
fi
exit $status
