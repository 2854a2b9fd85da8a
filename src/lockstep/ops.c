/*
 * lockstep/ops.c - the names of the operations recorded in traces (actors
 * and threads share one table: a trace names the op of every step).
 */
#include "base/common.h"

#include "lockstep/internal.h"

const char *const pt__ls_op_names[PT_LS_OP__N] = {
	[PT_LS_OP_START] = "start",
	[PT_LS_OP_SPAWN] = "spawn",
	[PT_LS_OP_SPAWN_LINK] = "spawn_link",
	[PT_LS_OP_SEND] = "send",
	[PT_LS_OP_RECV] = "recv",
	[PT_LS_OP_WAKE] = "wake",
	[PT_LS_OP_TIMEOUT] = "timeout",
	[PT_LS_OP_YIELD] = "yield",
	[PT_LS_OP_SLEEP] = "sleep",
	[PT_LS_OP_SEND_AFTER] = "send_after",
	[PT_LS_OP_CANCEL_TIMER] = "cancel_timer",
	[PT_LS_OP_MONITOR] = "monitor",
	[PT_LS_OP_DEMONITOR] = "demonitor",
	[PT_LS_OP_LINK] = "link",
	[PT_LS_OP_UNLINK] = "unlink",
	[PT_LS_OP_KILL] = "kill",
	[PT_LS_OP_ALIVE] = "alive",
	[PT_LS_OP_EXIT] = "exit",
	[PT_LS_OP_CALL] = "call",
	[PT_LS_OP_CAST] = "cast",
	[PT_LS_OP_REPLY] = "reply",
	[PT_LS_OP_REGISTER] = "register",
	[PT_LS_OP_UNREGISTER] = "unregister",
	[PT_LS_OP_LOOKUP] = "lookup",
	[PT_LS_OP_DISPATCH] = "dispatch",
	[PT_LS_OP_COUNT] = "count",
	[PT_LS_OP_TRAP] = "trap_exit",
	[PT_LS_OP_T_CREATE] = "thread_create",
	[PT_LS_OP_T_JOIN] = "thread_join",
	[PT_LS_OP_T_DETACH] = "thread_detach",
	[PT_LS_OP_T_EXIT] = "thread_exit",
	[PT_LS_OP_MUTEX_LOCK] = "mutex_lock",
	[PT_LS_OP_MUTEX_TRYLOCK] = "mutex_trylock",
	[PT_LS_OP_MUTEX_UNLOCK] = "mutex_unlock",
	[PT_LS_OP_COND_WAIT] = "cond_wait",
	[PT_LS_OP_COND_SIGNAL] = "cond_signal",
	[PT_LS_OP_COND_BROADCAST] = "cond_broadcast",
	[PT_LS_OP_RW_RDLOCK] = "rwlock_rdlock",
	[PT_LS_OP_RW_WRLOCK] = "rwlock_wrlock",
	[PT_LS_OP_RW_UNLOCK] = "rwlock_unlock",
	[PT_LS_OP_SEM_WAIT] = "sem_wait",
	[PT_LS_OP_SEM_POST] = "sem_post",
	[PT_LS_OP_BARRIER] = "barrier_wait",
	[PT_LS_OP_ONCE] = "once",
	[PT_LS_OP_READ] = "read",
	[PT_LS_OP_WRITE] = "write",
	[PT_LS_OP_ATOMIC] = "atomic",
	[PT_LS_OP_SPURIOUS] = "cond_wait_spurious",
};

int pt__ls_op_find(const char *name, size_t len)
{
	for (int i = 0; i < PT_LS_OP__N; i++)
		if (strlen(pt__ls_op_names[i]) == len &&
		    !memcmp(pt__ls_op_names[i], name, len))
			return i;
	return -1;
}

const char *const pt__ls_kind_names[PT_LS_KIND__N] = {
	[PT_LS_PASS] = "pass",
	[PT_LS_FAIL_ASSERT] = "assert",
	[PT_LS_FAIL_CRASH] = "crash",
	[PT_LS_FAIL_DEADLOCK] = "deadlock",
	[PT_LS_FAIL_STEPS] = "max_steps",
	[PT_LS_FAIL_TIMEOUT] = "timeout",
	[PT_LS_FAIL_DIVERGED] = "diverged",
	[PT_LS_FAIL_EXIT] = "exit",
};

const char *const pt__ls_strategy_names[PT_LS_STRATEGY__N] = {
	[PT_LS_PCT] = "pct",	       [PT_LS_RANDOM] = "random",
	[PT_LS_FAIR_PCT] = "fair_pct", [PT_LS_POS] = "pos",
	[PT_LS_IDPCT] = "idpct",       [PT_LS_REPLAY] = "replay",
	[PT_LS_DFS] = "dfs",
};

const char *pt_ls_kind_name(enum pt_ls_kind k)
{
	return (unsigned)k < PT_LS_KIND__N ? pt__ls_kind_names[k] : "?";
}

const char *pt_ls_strategy_name(enum pt_ls_strategy s)
{
	return (unsigned)s < PT_LS_STRATEGY__N ? pt__ls_strategy_names[s] : "?";
}
