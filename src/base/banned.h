/*
 * base/banned.h - functions that must not be used in src/ (git's mechanism).
 * Each is replaced by a macro that breaks compilation with a clear name.
 * Raw malloc/free are banned outside base/alloc.c; clock reads outside os/.
 */
#ifndef PT_BASE_BANNED_H
#define PT_BASE_BANNED_H

#define PT_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) PT_BANNED(strcpy)
#undef strcat
#define strcat(x, y) PT_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) PT_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) PT_BANNED(strncat)
#undef sprintf
#define sprintf(...) PT_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) PT_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) PT_BANNED(strtok)
#undef gets
#define gets(x) PT_BANNED(gets)
#undef atoi
#define atoi(x) PT_BANNED(atoi)
#undef atol
#define atol(x) PT_BANNED(atol)
#undef mktemp
#define mktemp(x) PT_BANNED(mktemp)
#undef tmpnam
#define tmpnam(x) PT_BANNED(tmpnam)
#undef rand
#define rand() PT_BANNED(rand)
#undef srand
#define srand(x) PT_BANNED(srand)
#undef system
#define system(x) PT_BANNED(system)
#undef alloca
#define alloca(x) PT_BANNED(alloca)

#ifndef PT_ALLOC_IMPLEMENTATION
# undef malloc
# define malloc(x) PT_BANNED(malloc)
# undef calloc
# define calloc(x, y) PT_BANNED(calloc)
# undef realloc
# define realloc(x, y) PT_BANNED(realloc)
# undef free
# define free(x) PT_BANNED(free)
# undef strdup
# define strdup(x) PT_BANNED(strdup)
#endif

#endif
