/*
 * portable.h: the one process, socket and clock layer of the C side (owned by
 * bindings/c/common), shared by the C tests, the benchmark and the demo, so that each of them
 * starts and stops ucwa-sim the same way on Linux (fork/exec, pipes, poll) and on Windows
 * (CreateProcess, pipes, job objects, Winsock).
 *
 * A child started here dies with its parent even when the parent crashes: PR_SET_PDEATHSIG on
 * Linux, a kill-on-close job object on Windows.
 *
 * The simulator broker: when UCWA_SIM_BROKER=PORT is set, portable_start_sim asks the broker
 * listening on 127.0.0.1:PORT (bindings/c/tests/sim-broker.py) to start the simulator instead
 * of starting it itself. The Windows test build runs under Wine against the Linux ucwa-sim this
 * way: a Windows process cannot read the stdout of, or stop, a Unix process Wine starts for it,
 * but it can hold a loopback connection, and the broker stops the simulator when that
 * connection closes (also when the test process dies).
 */
#ifndef UCWA_PORTABLE_H
#define UCWA_PORTABLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
typedef uintptr_t portable_socket; /* a Winsock SOCKET */
#define PORTABLE_NO_SOCKET (~(uintptr_t)0)
#else
#include <sys/types.h>
typedef int portable_socket;
#define PORTABLE_NO_SOCKET (-1)
#endif

typedef struct portable_proc {
#ifdef _WIN32
    void *process; /* HANDLE, NULL when none */
    void *job;     /* HANDLE of the kill-on-close job holding the child, or NULL */
    void *out;     /* HANDLE: read end of the child's stdout pipe, or NULL */
#else
    pid_t pid;     /* 0 when none */
    int out;       /* read end of the child's stdout pipe, or -1 */
#endif
    portable_socket broker; /* the broker connection when the child runs behind it */
    int live;               /* set by a successful start; a zeroed proc is a stopped one */
} portable_proc;

/* portable_spawn flags */
#define PORTABLE_STDOUT_PIPE 1 /* the child's stdout is read with portable_read_line */
#define PORTABLE_STDERR_NULL 2 /* the child's stderr is discarded */
#define PORTABLE_OWN_GROUP 4   /* POSIX: the child leads a process group of its own, so a
                                  terminal's Ctrl-C reaches us, not it (a simulator must outlive
                                  our sign-out); Windows: no effect (Ctrl+C goes to the console) */

/* Starts argv[0] (a path, not searched) with argv (NULL-terminated). 1 on success; 0 with a
 * message in err otherwise. */
int portable_spawn(portable_proc *p, const char *const *argv, int flags, char *err, size_t err_len);

/* Reads one line of the child's stdout (or the broker's answer) without its "\r\n", byte by
 * byte so nothing after it is consumed. 1: a line; 0: nothing within timeout_ms; -1: EOF. */
int portable_read_line(portable_proc *p, char *line, size_t len, int timeout_ms);

/* Waits up to timeout_ms (-1: forever) for the child to exit. 1 when it exited (*exit_code is
 * its status, or 128 + the signal that ended it), 0 when it still runs, -1 on error. */
int portable_wait(portable_proc *p, int timeout_ms, int *exit_code);

/* Stops the child: SIGTERM and up to grace_ms for it to exit, then SIGKILL (Windows:
 * TerminateProcess, which has no graceful form for a console program we do not share a
 * console with); reaps it and closes everything. A no-op on a zeroed or stopped proc. */
void portable_stop(portable_proc *p, int grace_ms);

/* Starts ucwa-sim with argv (argv[0] its path, ignored behind a broker) and reads its first
 * stdout line, the discovery root URL, into url. stderr is kept only if UCWA_SIM_STDERR is
 * set. 1 on success; 0 with a message in err (the child is then stopped). */
int portable_start_sim(portable_proc *p, const char *const *argv, char *url, size_t url_len,
                       int timeout_ms, char *err, size_t err_len);

/* Whether path names a file this platform can execute (Windows: an existing file). */
int portable_is_executable(const char *path);

/* Loopback TCP, for the simulator's control API and the tests' proxy. */
int portable_net_init(void); /* idempotent; 1 when sockets can be used */
portable_socket portable_connect_loopback(int port, int recv_timeout_s); /* 0 s: no timeout */
/* A listener on 127.0.0.1 with a free port (written to *port); PORTABLE_NO_SOCKET on failure. */
portable_socket portable_listen_loopback(int *port);
/* The next connection within timeout_ms, or PORTABLE_NO_SOCKET. */
portable_socket portable_accept(portable_socket listener, int timeout_ms);
/* 1 when s has data (or EOF) within timeout_ms, 0 otherwise. */
int portable_readable(portable_socket s, int timeout_ms);
int portable_send_all(portable_socket s, const char *buf, size_t len); /* 1 when all sent */
long portable_recv(portable_socket s, char *buf, size_t len);          /* <= 0: closed/error */
void portable_close_socket(portable_socket s);

/* Monotonic milliseconds, and a sleep that survives signals. */
int64_t portable_now_ms(void);
void portable_sleep_ms(int ms);

#endif
