/*
 * slurm/wrapper.c - the batch wrapper each Slurm job runs under, and the
 * job spec it reads (see slurm.h, docs/slurm.md).
 *
 * The wrapper is Perl, the one interpreter every Slurm node has (Slurm's
 * own tools use it): it needs fork/exec with an exact wait status, a
 * process group to signal, flock, bind and fsync, which a POSIX shell
 * cannot do exactly (a shell folds "killed by signal N" into exit 128+N).
 */
#include "base/common.h"
#include "slurm/slurm.h"

#include "base/buf.h"
#include "os/fd.h"
#include "os/file.h"

const char *const pt__slurm_wrapper[] = {
	"#!/usr/bin/perl\n",
	"# proctor's Slurm batch wrapper (docs/slurm.md): runs one proctor job on\n",
	"# the node Slurm chose. Written by proctor into the session; its argument\n",
	"# is the job's directory there, which holds \"spec\" (what to run, written\n",
	"# by proctor) and receives \"started\" (once only) and \"status\" (how the\n",
	"# job ended: the durable truth proctor collects, even after a restart).\n",
	"use strict;\n",
	"use warnings;\n",
	"use Fcntl qw(:DEFAULT :flock O_NOFOLLOW O_DIRECTORY);\n",
	"use Socket qw(PF_INET SOCK_STREAM INADDR_ANY sockaddr_in);\n",
	"use IO::Handle;\n",
	"use Sys::Hostname qw(hostname);\n",
	"use Time::HiRes qw(time);\n",
	"\n",
	"my $dir = shift @ARGV;\n",
	"defined $dir or die \"usage: proctor-slurm-wrapper JOBDIR\\n\";\n",
	"my %st = (host => hostname(), start => sprintf('%.6f', time));\n",
	"\n",
	"sub put_status {\n",
	"\tmy ($how, $code, $msg) = @_;\n",
	"\tmy $t = \"proctor-slurm-status 1\\nhow $how\\ncode $code\\n\"\n",
	"\t    . \"host $st{host}\\nstart $st{start}\\n\"\n",
	"\t    . sprintf(\"end %.6f\\n\", time);\n",
	"\t$t .= \"port_base $st{port_base}\\n\" if $st{port_base};\n",
	"\tif (defined $st{chaos}) {\n",
	"\t\t(my $c = $st{chaos}) =~ s/[\\x00-\\x1f]+/ /g;\n",
	"\t\t$t .= \"chaos \" . substr($c, 0, 1000) . \"\\n\";\n",
	"\t}\n",
	"\tif (defined $msg) {\n",
	"\t\t$msg =~ s/[\\x00-\\x1f]+/ /g;\n",
	"\t\t$t .= \"message \" . substr($msg, 0, 1000) . \"\\n\";\n",
	"\t}\n",
	"\tunlink \"$dir/status.next\";\n",
	"\tsysopen(my $fh, \"$dir/status.next\",\n",
	"\t\tO_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)\n",
	"\t    or die \"proctor-slurm-wrapper: $dir/status.next: $!\\n\";\n",
	"\tprint $fh $t or die \"proctor-slurm-wrapper: write: $!\\n\";\n",
	"\t$fh->flush;\n",
	"\t$fh->sync;\n",
	"\tclose $fh or die \"proctor-slurm-wrapper: close: $!\\n\";\n",
	"\trename \"$dir/status.next\", \"$dir/status\"\n",
	"\t    or die \"proctor-slurm-wrapper: rename: $!\\n\";\n",
	"\tif (sysopen(my $dh, $dir, O_RDONLY | O_DIRECTORY)) {\n",
	"\t\t$dh->sync;\n",
	"\t\tclose $dh;\n",
	"\t}\n",
	"}\n",
	"\n",
	"# Slurm may launch a batch script again (a requeue after a node failure):\n",
	"# a job runs at most once, the second launch only says so.\n",
	"unless (sysopen(my $s, \"$dir/started\",\n",
	"\t\tO_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) {\n",
	"\tput_status('error', 0, \"launched again by Slurm after a start on \"\n",
	"\t\t   . \"another launch; not run twice\") unless -e \"$dir/status\";\n",
	"\texit 0;\n",
	"} else {\n",
	"\tprint $s \"$st{host} $st{start}\\n\";\n",
	"\tclose $s;\n",
	"}\n",
	"\n",
	"my (%o, @env);\n",
	"{\n",
	"\topen(my $sf, '<', \"$dir/spec\") or do {\n",
	"\t\tput_status('error', 0, \"cannot read $dir/spec: $!\");\n",
	"\t\texit 0;\n",
	"\t};\n",
	"\tlocal $/;\n",
	"\tmy @f = split /\\0/, <$sf> // '', -1;\n",
	"\tpop @f if @f && $f[-1] eq '';\n",
	"\tif (!@f || shift(@f) ne 'proctor-slurm-spec-1' || @f % 2) {\n",
	"\t\tput_status('error', 0, \"$dir/spec: not a proctor job spec\");\n",
	"\t\texit 0;\n",
	"\t}\n",
	"\twhile (@f) {\n",
	"\t\tmy ($k, $v) = splice(@f, 0, 2);\n",
	"\t\tif ($k eq 'env') { push @env, $v } else { $o{$k} = $v }\n",
	"\t}\n",
	"}\n",
	"my %env = map { my ($k, $v) = split /=/, $_, 2; ($k => $v // '') } @env;\n",
	"\n",
	"# A block of TCP ports, leased like proctor's local runner does: an flock\n",
	"# on the same lock file per block (so local runs and Slurm jobs on this\n",
	"# node never share one) and every port bound once.\n",
	"my ($lock_fh, $port_count) = (undef, $o{ports} // 0);\n",
	"if ($port_count > 0) {\n",
	"\tmy $base_dir = (defined $env{XDG_RUNTIME_DIR} && -d $env{XDG_RUNTIME_DIR})\n",
	"\t    ? $env{XDG_RUNTIME_DIR} : '/tmp';\n",
	"\tmy $ld = \"$base_dir/proctor-ports-$<\";\n",
	"\tmkdir $ld, 0700;\n",
	"\tmy @ls = lstat $ld;\n",
	"\tif (!@ls || !-d _ || $ls[4] != $<) {\n",
	"\t\tput_status('error', 0, \"cannot start: port lock directory $ld \"\n",
	"\t\t\t   . \"is not a directory of uid $<\");\n",
	"\t\texit 0;\n",
	"\t}\n",
	"\tmy ($min, $max) = ($o{port_min} // 20000, $o{port_max} // 32000);\n",
	"\tBLOCK: for (my $b = $min; $b + $port_count <= $max; $b += $port_count) {\n",
	"\t\tsysopen(my $lf, \"$ld/block-$b.lock\",\n",
	"\t\t\tO_RDWR | O_CREAT | O_NOFOLLOW, 0600) or next;\n",
	"\t\tflock($lf, LOCK_EX | LOCK_NB) or next;\n",
	"\t\tfor my $p ($b .. $b + $port_count - 1) {\n",
	"\t\t\tsocket(my $so, PF_INET, SOCK_STREAM, 0) or next BLOCK;\n",
	"\t\t\tbind($so, sockaddr_in($p, INADDR_ANY)) or next BLOCK;\n",
	"\t\t\tclose $so;\n",
	"\t\t}\n",
	"\t\t($st{port_base}, $lock_fh) = ($b, $lf);\n",
	"\t\tlast;\n",
	"\t}\n",
	"\tunless ($st{port_base}) {\n",
	"\t\tput_status('error', 0, \"cannot start: no free block of \"\n",
	"\t\t\t   . \"$port_count TCP ports in $min-$max\");\n",
	"\t\texit 0;\n",
	"\t}\n",
	"} else {\n",
	"\t$port_count = 0;\n",
	"}\n",
	"\n",
	"# The job's private temporary directory, on this node (made with mkdir:\n",
	"# never an existing one; File::Temp alone costs more than the rest).\n",
	"my $troot = $ENV{TMPDIR} && -d $ENV{TMPDIR} ? $ENV{TMPDIR} : '/tmp';\n",
	"my $tmp;\n",
	"for (1 .. 100) {\n",
	"\tmy $t = sprintf(\"%s/proctor-slurm-%d-%08x\", $troot, $$, int(rand(2**32)));\n",
	"\tif (mkdir $t, 0700) { $tmp = $t; last }\n",
	"}\n",
	"unless ($tmp) {\n",
	"\tput_status('error', 0, \"cannot start: temporary directory in $troot: $!\");\n",
	"\texit 0;\n",
	"}\n",
	"\n",
	"# rm -rf that never follows a symlink\n",
	"sub rmtree {\n",
	"\tmy ($p) = @_;\n",
	"\tmy @st = lstat $p or return;\n",
	"\tif (-d _) {\n",
	"\t\tif (opendir(my $d, $p)) {\n",
	"\t\t\trmtree(\"$p/$_\") for grep { $_ ne '.' && $_ ne '..' } readdir $d;\n",
	"\t\t\tclosedir $d;\n",
	"\t\t}\n",
	"\t\trmdir $p;\n",
	"\t} else {\n",
	"\t\tunlink $p;\n",
	"\t}\n",
	"}\n",
	"$env{PROCTOR_TMPDIR} = $env{TMPDIR} = $tmp;\n",
	"$env{PROCTOR_PORT_BASE} = $st{port_base} // 0;\n",
	"$env{PROCTOR_PORT_COUNT} = $port_count;\n",
	"my $cwd = length($o{cwd} // '') ? $o{cwd} : $tmp;\n",
	"my $shell = $o{shell} // 'bash';\n",
	"my $timeout = $o{timeout} // 0;\n",
	"my $grace = $o{grace} // 3;\n",
	"\n",
	"pipe(my $er, my $ew) or die \"pipe: $!\";\n",
	"my $t0 = time;\n",
	"my $pid = fork;\n",
	"if (!defined $pid) {\n",
	"\tput_status('error', 0, \"cannot start: fork: $!\");\n",
	"\texit 0;\n",
	"}\n",
	"if ($pid == 0) {\n",
	"\tclose $er;\n",
	"\tsetpgrp(0, 0); # its own process group, signalled as a whole\n",
	"\topen(STDIN, '<', '/dev/null');\n",
	"\t$SIG{$_} = 'DEFAULT' for qw(TERM INT ALRM HUP PIPE);\n",
	"\tchdir $cwd or do {\n",
	"\t\tsyswrite $ew, \"cannot start: cannot enter $cwd: $!\";\n",
	"\t\tkill 'KILL', $$;\n",
	"\t};\n",
	"\t%ENV = %env;\n",
	"\t{ no warnings 'exec'; exec { $shell } $shell, '-c', $o{command} // ''; }\n",
	"\tsyswrite $ew, \"cannot start: shell '$shell': $!\";\n",
	"\tkill 'KILL', $$;\n",
	"}\n",
	"close $ew;\n",
	"my $why = '';\n",
	"sysread $er, $why, 2000;\n",
	"close $er;\n",
	"\n",
	"# Slurm ends a cancelled or timed-out job with SIGTERM to its processes:\n",
	"# the job's group gets it too, and no status is written (Slurm's state\n",
	"# says what happened).\n",
	"my $term = 0;\n",
	"$SIG{TERM} = sub { $term = 1; kill 'TERM', -$pid };\n",
	"\n",
	"# The --chaos process faults proctor scheduled for this job (docs/chaos.md,\n",
	"# the same seeded times and pick as the local runner's), in seconds after\n",
	"# the start; 0: none. Each one done is a line of the session's chaos log.\n",
	"my %cf = map { $_ => $o{\"chaos_$_\"} // 0 } qw(kill stop stop_len kill_one pick);\n",
	"sub chaos_log {\n",
	"\tmy ($p, $fault, $at, $what) = @_;\n",
	"\treturn unless length($o{chaos_log} // '');\n",
	"\tsysopen(my $l, $o{chaos_log},\n",
	"\t\tO_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0600) or return;\n",
	"\tsyswrite $l, sprintf(\"%s\\t%s\\t%d\\t%s\\t%.3f\\t%s\\t%.6f\\n\",\n",
	"\t\t$env{PROCTOR_JOB_ID} // '', $env{PROCTOR_ATTEMPT} // 1, $p,\n",
	"\t\t$fault, $at, $what, time);\n",
	"\tclose $l;\n",
	"}\n",
	"# (name, process group, start time) of a live process, or ()\n",
	"sub proc_stat {\n",
	"\tmy ($p) = @_;\n",
	"\topen(my $f, '<', \"/proc/$p/stat\") or return;\n",
	"\tmy $s = <$f>;\n",
	"\tclose $f;\n",
	"\treturn unless defined $s && $s =~ /^\\d+ \\((.*)\\) (\\S) (.*)$/s;\n",
	"\tmy ($name, $state, @r) = ($1, $2, split(/ /, $3));\n",
	"\treturn if $state eq 'Z' || $state eq 'X';\n",
	"\treturn (substr($name, 0, 15), $r[1], $r[18]);\n",
	"}\n",
	"# kill-one: SIGKILL to the member at pick % n of the group's live\n",
	"# processes but its leader (of the first 256 by pid), in creation order\n",
	"sub kill_one {\n",
	"\tmy ($g, $pick) = @_;\n",
	"\tmy @m;\n",
	"\topendir(my $d, '/proc') or return;\n",
	"\tfor my $p (sort { $a <=> $b } grep { /^\\d+$/ } readdir $d) {\n",
	"\t\tmy @s = proc_stat($p) or next;\n",
	"\t\tnext unless $s[1] == $g;\n",
	"\t\tpush @m, [$s[2], $p, $s[0]];\n",
	"\t\tlast if @m >= 256;\n",
	"\t}\n",
	"\tclosedir $d;\n",
	"\t@m = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }\n",
	"\t    grep { $_->[1] != $g } @m;\n",
	"\twhile (@m) {\n",
	"\t\tmy $k = $pick % @m;\n",
	"\t\tmy (undef, $p, $name) = @{$m[$k]};\n",
	"\t\tmy @s = proc_stat($p);\n",
	"\t\treturn ($p, $name) if @s && $s[1] == $g && kill('KILL', $p);\n",
	"\t\tsplice(@m, $k, 1);\n",
	"\t}\n",
	"\treturn;\n",
	"}\n",
	"\n",
	"# Waits for the job, doing what is due on the way: the chaos faults, the\n",
	"# timeout (SIGTERM to the group), SIGKILL after its grace.\n",
	"my ($status, $timed_out, $killed) = (undef, 0, 0);\n",
	"my %due = (term => $timeout > 0 ? $t0 + $timeout : 0, kill => 0, ccont => 0,\n",
	"\t   ckill => $cf{kill} > 0 ? $t0 + $cf{kill} : 0,\n",
	"\t   cstop => $cf{stop} > 0 ? $t0 + $cf{stop} : 0,\n",
	"\t   cone => $cf{kill_one} > 0 ? $t0 + $cf{kill_one} : 0);\n",
	"my ($cone_wait, %did) = (0);\n",
	"while (1) {\n",
	"\tmy ($next) = sort { $a <=> $b } grep { $_ > 0 } values %due;\n",
	"\tmy $r;\n",
	"\tif (!defined $next) {\n",
	"\t\t$r = waitpid($pid, 0);\n",
	"\t} elsif ($next > time) {\n",
	"\t\teval {\n",
	"\t\t\tlocal $SIG{ALRM} = sub { die \"alarm\\n\" };\n",
	"\t\t\tTime::HiRes::alarm($next - time > 0.001 ? $next - time : 0.001);\n",
	"\t\t\t$r = waitpid($pid, 0);\n",
	"\t\t\tTime::HiRes::alarm(0);\n",
	"\t\t};\n",
	"\t}\n",
	"\tif (defined $r && $r != 0) {\n",
	"\t\t$status = $r == $pid ? $? : 0;\n",
	"\t\tlast;\n",
	"\t}\n",
	"\tmy $now = time;\n",
	"\tmy $at = $now - $t0;\n",
	"\tif ($due{cstop} && $due{cstop} <= $now) {\n",
	"\t\t$due{cstop} = 0;\n",
	"\t\tkill 'STOP', -$pid;\n",
	"\t\t$due{ccont} = $now + $cf{stop_len};\n",
	"\t\t$did{stop} = $at;\n",
	"\t\tchaos_log($pid, 'pause', $at, 'SIGSTOP to the group');\n",
	"\t}\n",
	"\tif ($due{ccont} && $due{ccont} <= $now) {\n",
	"\t\t$due{ccont} = 0;\n",
	"\t\tkill 'CONT', -$pid;\n",
	"\t}\n",
	"\tif ($due{ckill} && $due{ckill} <= $now) {\n",
	"\t\t$due{ckill} = 0;\n",
	"\t\tkill 'KILL', -$pid;\n",
	"\t\t$did{kill} = $at;\n",
	"\t\tchaos_log($pid, 'kill', $at, 'SIGKILL to the group');\n",
	"\t}\n",
	"\tif ($due{cone} && $due{cone} <= $now) {\n",
	"\t\tmy ($v, $name) = kill_one($pid, $cf{pick});\n",
	"\t\tif ($v) {\n",
	"\t\t\t$due{cone} = 0;\n",
	"\t\t\t$did{one} = [$v, $name, $at];\n",
	"\t\t\tchaos_log($v, 'kill-one', $at, \"SIGKILL to $name\");\n",
	"\t\t} else {\n",
	"\t\t\t# none yet: again after 10 ms, twice as long each time\n",
	"\t\t\t$did{none} = 1;\n",
	"\t\t\t$cone_wait = $cone_wait ? $cone_wait * 2 : 0.01;\n",
	"\t\t\t$cone_wait = 0.64 if $cone_wait > 0.64;\n",
	"\t\t\t$due{cone} = $now + $cone_wait;\n",
	"\t\t}\n",
	"\t}\n",
	"\tif ($due{term} && $due{term} <= $now) {\n",
	"\t\t$due{term} = 0;\n",
	"\t\t$timed_out = 1;\n",
	"\t\tkill 'TERM', -$pid;\n",
	"\t\t$due{kill} = $now + $grace;\n",
	"\t}\n",
	"\tif ($due{kill} && $due{kill} <= $now) {\n",
	"\t\t$due{kill} = 0;\n",
	"\t\t$killed = 1;\n",
	"\t\tkill 'KILL', -$pid;\n",
	"\t}\n",
	"}\n",
	"{\n",
	"\tmy @n;\n",
	"\tpush @n, sprintf(\"chaos: paused (SIGSTOP) at %.3f s for %.3f s\",\n",
	"\t\t\t $did{stop}, $cf{stop_len}) if defined $did{stop};\n",
	"\tpush @n, sprintf(\"chaos: SIGKILL to its process group at %.3f s\",\n",
	"\t\t\t $did{kill}) if defined $did{kill};\n",
	"\tif ($did{one}) {\n",
	"\t\tpush @n, sprintf(\"chaos: SIGKILL to pid %d (%s) of its group \"\n",
	"\t\t\t\t . \"at %.3f s\", @{$did{one}});\n",
	"\t} elsif ($did{none}) {\n",
	"\t\tpush @n, \"chaos: kill-one found no process of its group \"\n",
	"\t\t    . \"besides the main one\";\n",
	"\t}\n",
	"\t$st{chaos} = join('; ', @n) if @n;\n",
	"}\n",
	"kill 'KILL', -$pid; # what is left of its process group\n",
	"rmtree($tmp) unless $o{keep_tmp};\n",
	"close $lock_fh if $lock_fh;\n",
	"exit 143 if $term;\n",
	"if (length $why) {\n",
	"\tput_status('error', 0, $why);\n",
	"\texit 127;\n",
	"}\n",
	"if ($timed_out) {\n",
	"\tput_status('timeout', $killed ? 9 : 15,\n",
	"\t\t   sprintf(\"%g %g\", $timeout, $grace));\n",
	"\texit 124;\n",
	"}\n",
	"if ($status & 127) {\n",
	"\tput_status('signal', $status & 127);\n",
	"\texit 128 + ($status & 127);\n",
	"}\n",
	"put_status('exit', $status >> 8);\n",
	"exit $status >> 8;\n",
	NULL,
};

static int write_new(const char *path, const void *data, size_t len,
		     unsigned mode)
{
	int fd = pt__open_excl(path, mode), r;

	if (fd < 0)
		return fd;
	r = pt__write_all(fd, data, len);
	if (r == 0)
		r = pt__io_fsync(fd);
	pt__close(fd);
	return r;
}

int pt__slurm_write_wrapper(const char *path)
{
	struct pt_buf b = PT_BUF_INIT;
	int r = 0;

	for (size_t i = 0; !r && pt__slurm_wrapper[i]; i++)
		r = pt__buf_adds(&b, pt__slurm_wrapper[i]);
	if (r == 0)
		r = write_new(path, b.s, b.len, 0700);
	pt__buf_release(&b);
	return r;
}

static int add_pair(struct pt_buf *b, const char *k, const char *v)
{
	int r = pt__buf_add(b, k, strlen(k) + 1);

	return r < 0 ? r : pt__buf_add(b, v, strlen(v) + 1);
}

int pt__slurm_write_spec(const char *path, const struct pt_slurm_spec *s)
{
	struct pt_buf b = PT_BUF_INIT;
	char num[64];
	int r;

	if (!s->command || !s->shell)
		return -EINVAL;
	r = pt__buf_add(&b, "proctor-slurm-spec-1", 21);
	r = r ? r : add_pair(&b, "shell", s->shell);
	r = r ? r : add_pair(&b, "command", s->command);
	snprintf(num, sizeof(num), "%.3f", s->timeout > 0 ? s->timeout : 0);
	r = r ? r : add_pair(&b, "timeout", num);
	snprintf(num, sizeof(num), "%.3f", s->grace > 0 ? s->grace : 0);
	r = r ? r : add_pair(&b, "grace", num);
	snprintf(num, sizeof(num), "%u", s->ports);
	r = r ? r : add_pair(&b, "ports", num);
	snprintf(num, sizeof(num), "%u", s->port_min ? s->port_min : 20000);
	r = r ? r : add_pair(&b, "port_min", num);
	snprintf(num, sizeof(num), "%u", s->port_max ? s->port_max : 32000);
	r = r ? r : add_pair(&b, "port_max", num);
	r = r ? r : add_pair(&b, "cwd", s->cwd ? s->cwd : "");
	r = r ? r : add_pair(&b, "keep_tmp", s->keep_tmp ? "1" : "");
	for (const char *const *e = s->env; !r && e && *e; e++)
		r = add_pair(&b, "env", *e);
	if (s->chaos && (s->chaos->kill > 0 || s->chaos->stop > 0 ||
			 s->chaos->kill_one > 0)) {
		const struct pt_chaos_times *t = s->chaos;

		snprintf(num, sizeof(num), "%.9f", t->kill);
		r = r ? r : add_pair(&b, "chaos_kill", num);
		snprintf(num, sizeof(num), "%.9f", t->stop);
		r = r ? r : add_pair(&b, "chaos_stop", num);
		snprintf(num, sizeof(num), "%.9f", t->stop_len);
		r = r ? r : add_pair(&b, "chaos_stop_len", num);
		snprintf(num, sizeof(num), "%.9f", t->kill_one);
		r = r ? r : add_pair(&b, "chaos_kill_one", num);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)t->pick);
		r = r ? r : add_pair(&b, "chaos_pick", num);
		r = r ? r
		      : add_pair(&b, "chaos_log",
				 s->chaos_log ? s->chaos_log : "");
	}
	if (r == 0)
		r = write_new(path, b.s, b.len, 0600);
	pt__buf_release(&b);
	return r;
}
