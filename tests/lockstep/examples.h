/*
 * tests/lockstep/examples.h - the lockstep example programs (examples.c):
 * five known bugs and their correct counterparts. Each body is the root
 * actor of an iteration; the tests run them under the scheduler.
 */
#ifndef PT_TESTS_LOCKSTEP_EXAMPLES_H
#define PT_TESTS_LOCKSTEP_EXAMPLES_H

/* Two workers get, then put value + 1 on a counter server: lost update. */
void ex_counter_lost_update(void *arg);
/* The same with an atomic "increment" call: correct. */
void ex_counter_atomic(void *arg);
/* init goes through a relay, use goes direct: use may overtake init. */
void ex_message_order(void *arg);
/* Both go direct from the same sender: ordered, correct. */
void ex_message_order_fixed(void *arg);
/* Two servers whose handle_call calls the other: deadlock. */
void ex_call_deadlock(void *arg);
/* The same with one-way calls (no cycle): correct. */
void ex_call_no_deadlock(void *arg);
/* Leader replies, then replicates: a read from the follower is stale. */
void ex_leader_follower(void *arg);
/* Leader replicates before replying: correct. */
void ex_leader_follower_sync(void *arg);
/* Look up a name, then call it: the holder was replaced meanwhile. */
void ex_registry_aba(void *arg);
/* Monitor-checked retry loop on the same registry: correct. */
void ex_registry_retry(void *arg);
/* An extra actor that yields n times (noise for shrinking). */
void ex_counter_with_noise(void *arg);

#endif
