/*
 * aba (-fsanitize=thread): a lock-free stack (compare-and-swap on the
 * head) over reused nodes. A pop reads head A and A->next B; if it is
 * preempted while another thread pops A and B and pushes A back, its CAS
 * still sees A and installs B, which that thread holds: B is both in use
 * and on the stack. FIXED: a version counter in the head (tagged CAS).
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NODES 3
struct node {
	int next; /* index, -1: none */
};
static struct node nodes[NODES];
static uint64_t head; /* low 32 bits: index + 1 (0 empty); high: tag */
static int held[2][2], nheld[2];

static int pop(void)
{
	uint64_t h = __atomic_load_n(&head, __ATOMIC_ACQUIRE), nh;
	int i;

	do {
		if ((uint32_t)h == 0)
			return -1;
		i = (int)(uint32_t)h - 1;
		nh = (uint64_t)(uint32_t)(nodes[i].next + 1);
#ifdef FIXED
		nh |= ((h >> 32) + 1) << 32;
#endif
	} while (!__atomic_compare_exchange_n(
		&head, &h, nh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return i;
}

static void push(int i)
{
	uint64_t h = __atomic_load_n(&head, __ATOMIC_ACQUIRE), nh;

	do {
		nodes[i].next = (int)(uint32_t)h - 1;
		nh = (uint64_t)(uint32_t)(i + 1);
#ifdef FIXED
		nh |= ((h >> 32) + 1) << 32;
#endif
	} while (!__atomic_compare_exchange_n(
		&head, &h, nh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
}

static void *slow(void *arg)
{
	(void)arg;
	held[0][nheld[0]++] = pop();
	return NULL;
}

static void *fast(void *arg)
{
	int a, b;

	(void)arg;
	a = pop();
	b = pop();
	if (a >= 0)
		push(a);
	held[1][nheld[1]++] = b;
	return NULL;
}

int main(void)
{
	pthread_t s, f;
	int count[NODES] = { 0 };

	for (int i = NODES - 1; i >= 0; i--)
		push(i);
	pthread_create(&s, NULL, slow, NULL);
	pthread_create(&f, NULL, fast, NULL);
	pthread_join(s, NULL);
	pthread_join(f, NULL);
	/* Every node exactly once: held, or on the stack. */
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < nheld[t]; k++)
			if (held[t][k] >= 0)
				count[held[t][k]]++;
	for (int i = (int)(uint32_t)head - 1, n = 0; i >= 0 && n < 10;
	     i = nodes[i].next, n++)
		count[i]++;
	for (int i = 0; i < NODES; i++)
		assert(count[i] == 1);
	return 0;
}
