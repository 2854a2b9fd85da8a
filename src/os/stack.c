/*
 * os/stack.c - fiber stacks for lockstep: anonymous mappings with a guard
 * page. Its own file because the preloaded lockstep runtime links it too,
 * without the rest of src/os.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, MAP_STACK */
#include "base/common.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/alloc.h"
#include "os/lsos.h"

int pt__lsos_stack_alloc(size_t size, void **ret_stack, size_t *ret_size)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096, total;
	char *p;

	size = (size + page - 1) / page * page;
	if (!pt__add_ok(size, page, &total))
		return -ENOMEM;
	p = mmap(NULL, total, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* The guard page is at the low end: stacks grow down. */
	if (mprotect(p, page, PROT_NONE) < 0) {
		int e = -errno;
		munmap(p, total);
		return e;
	}
	*ret_stack = p + page;
	*ret_size = size;
	return 0;
}

void pt__lsos_stack_free(void *stack, size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;

	if (stack)
		munmap((char *)stack - page, size + page);
}
