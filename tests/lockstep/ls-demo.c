/*
 * tests/lockstep/ls-demo.c - a test binary made of PT_LOCKSTEP_TESTs with
 * pt_ls_main as its main: what users write. test-cli.c drives it and the
 * proctor lockstep commands. "counter" has the lost-update bug.
 */
#include <proctor/lockstep.h>

#include "examples.h"

PT_LOCKSTEP_TEST(counter, .iterations = 100, .strategy = PT_LS_PCT)
{
	ex_counter_lost_update(pt_ls_arg);
}

PT_LOCKSTEP_TEST(counter_noise, .strategy = PT_LS_RANDOM, .seed = 4)
{
	ex_counter_with_noise(pt_ls_arg);
}

PT_LOCKSTEP_TEST(counter_ok, .iterations = 50)
{
	ex_counter_atomic(pt_ls_arg);
}

PT_LOCKSTEP_TEST(defaults, 0)
{
	ex_counter_atomic(pt_ls_arg);
}

int main(int argc, char **argv)
{
	return pt_ls_main(argc, argv);
}
