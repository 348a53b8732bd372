/*
 * test_header.c: include/ucwa.h compiles as C11 and as C++ with -Wall -Wextra -Werror
 * -pedantic, included twice, and a program using it links and runs against libucwa
 * (owned by bindings/c/tests). The compilers and paths come from the Makefile.
 *
 * On Windows the programs are compiled by the Makefile when it builds the suite (a failed
 * compile fails the build, and so the suite), and these tests run them: the test process may
 * have no compiler, and under Wine the cross-compiler is a Unix program that a Windows process
 * can start but not wait for.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "harness.h"
#include "portable.h"

#ifndef UCWA_TEST_CC
#define UCWA_TEST_CC "cc"
#endif
#ifndef UCWA_TEST_CXX
#define UCWA_TEST_CXX "c++"
#endif
#ifndef UCWA_INCLUDE_DIR
#define UCWA_INCLUDE_DIR "../../include"
#endif
#ifndef UCWA_LIB_DIR
#define UCWA_LIB_DIR "../../target/debug"
#endif
#ifndef UCWA_TESTS_DIR
#define UCWA_TESTS_DIR "."
#endif

#ifdef _WIN32

/* Runs the program the Makefile built from header_twice.c as header_twice_<suffix>.exe beside
 * this executable; 1 when it exited with 0. */
static int compile_link_run(const char *compiler, const char *lang, const char *std)
{
    (void)compiler;
    char path[MAX_PATH];
    DWORD n = GetModuleFileNameA(NULL, path, sizeof path);
    char *slash = n > 0 && n < sizeof path ? strrchr(path, '\\') : NULL;
    if (!slash) {
        harness_fail(__FILE__, __LINE__, "GetModuleFileName failed");
        return 0;
    }
    /* "-std=c++17" -> "c++17": the Makefile names the programs so. */
    snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "header_twice_%s.exe", std + 5);
    if (!portable_is_executable(path)) {
        harness_fail(__FILE__, __LINE__, "%s (%s as %s) was not built", path, lang, std);
        return 0;
    }
    const char *argv[] = { path, NULL };
    portable_proc p;
    char err[256];
    int code = -1;
    if (!portable_spawn(&p, argv, 0, err, sizeof err)) {
        harness_fail(__FILE__, __LINE__, "%s", err);
        return 0;
    }
    int r = portable_wait(&p, 30000, &code);
    portable_stop(&p, 0);
    if (r != 1 || code != 0) {
        harness_fail(__FILE__, __LINE__, "the %s (%s) program exited with %d", lang, std, r == 1 ? code : -1);
        return 0;
    }
    return 1;
}

#else

extern char **environ;

/* Runs argv, returns its exit status (-1 when it could not run or died of a signal). */
static int run(char *const argv[])
{
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
        return -1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

/* Compiles header_twice.c in `lang` with `std`, links it, runs it; 1 on success. */
static int compile_link_run(const char *compiler, const char *lang, const char *std)
{
    char dir[] = "/tmp/ucwa-header-XXXXXX";
    if (!mkdtemp(dir)) {
        return 0;
    }
    char exe[64];
    snprintf(exe, sizeof exe, "%s/prog", dir);
    char include[512], libdir[512], rpath[600], source[512];
    snprintf(include, sizeof include, "-I%s", UCWA_INCLUDE_DIR);
    snprintf(libdir, sizeof libdir, "-L%s", UCWA_LIB_DIR);
    snprintf(rpath, sizeof rpath, "-Wl,-rpath,%s", UCWA_LIB_DIR);
    snprintf(source, sizeof source, "%s/header_twice.c", UCWA_TESTS_DIR);
    char *const argv[] = {
        (char *)compiler, (char *)"-x", (char *)lang, (char *)std, (char *)"-Wall",
        (char *)"-Wextra", (char *)"-Werror", (char *)"-pedantic", include, source,
        (char *)"-x", (char *)"none", libdir, (char *)"-lucwa", rpath, (char *)"-o", exe, NULL,
    };
    int compiled = run(argv);
    if (compiled != 0) {
        harness_fail(__FILE__, __LINE__, "%s -x %s %s failed (status %d)", compiler, lang, std, compiled);
    }
    char *const prog[] = { exe, NULL };
    int ran = compiled == 0 ? run(prog) : -1;
    if (compiled == 0 && ran != 0) {
        harness_fail(__FILE__, __LINE__, "the %s program exited with %d", lang, ran);
    }
    unlink(exe);
    rmdir(dir);
    return compiled == 0 && ran == 0;
}

#endif

static void header_compiles_as_c11_included_twice(void)
{
    CHECK(compile_link_run(UCWA_TEST_CC, "c", "-std=c11"));
}

static void header_compiles_as_c99_included_twice(void)
{
    CHECK(compile_link_run(UCWA_TEST_CC, "c", "-std=c99"));
}

static void header_compiles_as_cxx_included_twice(void)
{
    CHECK(compile_link_run(UCWA_TEST_CXX, "c++", "-std=c++11"));
    CHECK(compile_link_run(UCWA_TEST_CXX, "c++", "-std=c++17"));
}

const test_case header_tests[] = {
    { "header_compiles_as_c11_included_twice", header_compiles_as_c11_included_twice },
    { "header_compiles_as_c99_included_twice", header_compiles_as_c99_included_twice },
    { "header_compiles_as_cxx_included_twice", header_compiles_as_cxx_included_twice },
    { NULL, NULL },
};
