/*
 * misc: how failures that are not assertions are reported. argv[1]:
 * exit (status 3 from a thread), segv (a crash in a thread), spin (a
 * hang with no scheduling point: the wall-time budget), sleep (half an hour of
 * virtual time), steps (yields forever: the step budget), threads (more
 * threads than the runtime schedules), ok (passes, with every kind of
 * object used once).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *mode;
static int *volatile nowhere;

static void *thread(void *arg)
{
	(void)arg;
	if (!strcmp(mode, "exit"))
		exit(3);
	if (!strcmp(mode, "segv"))
		*nowhere = 1;
	if (!strcmp(mode, "spin"))
		for (volatile int i = 0;; i++)
			;
	if (!strcmp(mode, "steps"))
		for (;;)
			sched_yield();
	if (!strcmp(mode, "fork")) {
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			/* Uncontrolled: real locks, real sleep. */
			pthread_mutex_lock(&m);
			pthread_mutex_unlock(&m);
			usleep(1000);
			_exit(5);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 5)
			exit(4);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[70];

	mode = argc > 1 ? argv[1] : "ok";
	if (!strcmp(mode, "sleep"))
		sleep(1800);
	if (!strcmp(mode, "threads")) {
		for (int i = 0; i < 70; i++)
			pthread_create(&t[i], NULL, thread, NULL);
		return 0;
	}
	pthread_create(&t[0], NULL, thread, NULL);
	if (!strcmp(mode, "mainexit"))
		pthread_exit(NULL);
	pthread_join(t[0], NULL);
	return 0;
}
