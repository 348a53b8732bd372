/*
 * portable.c: the process, socket and clock layer declared in portable.h (owned by
 * bindings/c/common): one implementation for POSIX (Linux) and one for Windows, and the
 * simulator broker client shared by both.
 */
#ifndef _WIN32
#define _GNU_SOURCE
#endif

#include "portable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <io.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#endif

/* ----- clocks ---------------------------------------------------------------------------- */

int64_t portable_now_ms(void)
{
#ifdef _WIN32
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (!freq.QuadPart) {
        QueryPerformanceFrequency(&freq);
    }
    QueryPerformanceCounter(&now);
    return (int64_t)(now.QuadPart / (freq.QuadPart / 1000));
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

void portable_sleep_ms(int ms)
{
#ifdef _WIN32
    Sleep((DWORD)(ms < 0 ? 0 : ms));
#else
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
#endif
}

/* ----- sockets --------------------------------------------------------------------------- */

int portable_net_init(void)
{
#ifdef _WIN32
    static int ready;
    if (!ready) {
        WSADATA data;
        ready = WSAStartup(MAKEWORD(2, 2), &data) == 0;
    }
    return ready;
#else
    /* A peer that went away must be an error on send, not a SIGPIPE ending the process. */
    signal(SIGPIPE, SIG_IGN);
    return 1;
#endif
}

void portable_close_socket(portable_socket s)
{
    if (s == PORTABLE_NO_SOCKET) {
        return;
    }
#ifdef _WIN32
    closesocket((SOCKET)s);
#else
    close(s);
#endif
}

portable_socket portable_connect_loopback(int port, int recv_timeout_s)
{
    if (!portable_net_init()) {
        return PORTABLE_NO_SOCKET;
    }
#ifdef _WIN32
    SOCKET raw = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (raw == INVALID_SOCKET) {
        return PORTABLE_NO_SOCKET;
    }
    portable_socket s = (portable_socket)raw;
    DWORD tv = (DWORD)recv_timeout_s * 1000;
    setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tv, sizeof tv);
#else
    portable_socket s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return PORTABLE_NO_SOCKET;
    }
    struct timeval tv = { recv_timeout_s, 0 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
#endif
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
#ifdef _WIN32
    if (connect((SOCKET)s, (struct sockaddr *)&addr, sizeof addr) != 0) {
#else
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
#endif
        portable_close_socket(s);
        return PORTABLE_NO_SOCKET;
    }
    return s;
}

int portable_send_all(portable_socket s, const char *buf, size_t len)
{
    while (len > 0) {
#ifdef _WIN32
        int w = send((SOCKET)s, buf, len > 65536 ? 65536 : (int)len, 0);
#else
        ssize_t w = send(s, buf, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
#endif
        if (w <= 0) {
            return 0;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 1;
}

long portable_recv(portable_socket s, char *buf, size_t len)
{
#ifdef _WIN32
    return recv((SOCKET)s, buf, len > 65536 ? 65536 : (int)len, 0);
#else
    for (;;) {
        ssize_t r = recv(s, buf, len, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        return (long)r;
    }
#endif
}

/* 1 when s has data (or EOF) within timeout_ms, 0 otherwise. */
static int socket_readable(portable_socket s, int timeout_ms)
{
#ifdef _WIN32
    fd_set set;
    FD_ZERO(&set);
    FD_SET((SOCKET)s, &set);
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return select(0, &set, NULL, NULL, &tv) > 0;
#else
    struct pollfd p = { s, POLLIN, 0 };
    return poll(&p, 1, timeout_ms) > 0;
#endif
}

int portable_readable(portable_socket s, int timeout_ms)
{
    return socket_readable(s, timeout_ms);
}

portable_socket portable_listen_loopback(int *port)
{
    if (!portable_net_init()) {
        return PORTABLE_NO_SOCKET;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
#ifdef _WIN32
    SOCKET raw = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (raw == INVALID_SOCKET) {
        return PORTABLE_NO_SOCKET;
    }
    portable_socket s = (portable_socket)raw;
    int addr_len = sizeof addr;
    if (bind(raw, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(raw, 64) != 0 ||
        getsockname(raw, (struct sockaddr *)&addr, &addr_len) != 0) {
#else
    portable_socket s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return PORTABLE_NO_SOCKET;
    }
    socklen_t addr_len = sizeof addr;
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s, 64) != 0 ||
        getsockname(s, (struct sockaddr *)&addr, &addr_len) != 0) {
#endif
        portable_close_socket(s);
        return PORTABLE_NO_SOCKET;
    }
    *port = ntohs(addr.sin_port);
    return s;
}

portable_socket portable_accept(portable_socket listener, int timeout_ms)
{
    if (!socket_readable(listener, timeout_ms)) {
        return PORTABLE_NO_SOCKET;
    }
#ifdef _WIN32
    SOCKET raw = accept((SOCKET)listener, NULL, NULL);
    return raw == INVALID_SOCKET ? PORTABLE_NO_SOCKET : (portable_socket)raw;
#else
    int s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    return s < 0 ? PORTABLE_NO_SOCKET : s;
#endif
}

/* ----- processes ------------------------------------------------------------------------- */

static void zero_proc(portable_proc *p)
{
    memset(p, 0, sizeof *p);
#ifndef _WIN32
    p->out = -1;
#endif
    p->broker = PORTABLE_NO_SOCKET;
}

int portable_is_executable(const char *path)
{
#ifdef _WIN32
    return path && *path && _access(path, 0) == 0;
#else
    return path && *path && access(path, X_OK) == 0;
#endif
}

#ifdef _WIN32

/* Appends arg to cmd quoted the way CommandLineToArgvW and the C runtime split it. */
static int append_quoted(char *cmd, size_t cap, size_t *len, const char *arg)
{
    char buf[4096];
    size_t n = 0;
    int quote = !*arg || strpbrk(arg, " \t\"") != NULL;
    if (quote) {
        buf[n++] = '"';
    }
    for (const char *c = arg; *c && n + 4 < sizeof buf; c++) {
        size_t slashes = 0;
        while (c[slashes] == '\\') {
            slashes++;
        }
        if (c[slashes] == '"' || (quote && c[slashes] == '\0')) {
            /* Backslashes before a quote (ours or the arg's) are doubled. */
            for (size_t i = 0; i < slashes * 2 && n + 4 < sizeof buf; i++) {
                buf[n++] = '\\';
            }
            c += slashes;
            if (*c == '\0') {
                break;
            }
            buf[n++] = '\\';
            buf[n++] = '"';
            continue;
        }
        for (size_t i = 0; i < slashes && n + 4 < sizeof buf; i++) {
            buf[n++] = '\\';
        }
        c += slashes;
        if (*c == '\0') {
            break;
        }
        buf[n++] = *c;
    }
    if (quote) {
        buf[n++] = '"';
    }
    if (*len + n + 2 > cap) {
        return 0;
    }
    if (*len) {
        cmd[(*len)++] = ' ';
    }
    memcpy(cmd + *len, buf, n);
    *len += n;
    cmd[*len] = '\0';
    return 1;
}

int portable_spawn(portable_proc *p, const char *const *argv, int flags, char *err, size_t err_len)
{
    zero_proc(p);
    char cmd[32768];
    size_t len = 0;
    cmd[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        if (!append_quoted(cmd, sizeof cmd, &len, argv[i])) {
            snprintf(err, err_len, "command line too long");
            return 0;
        }
    }
    SECURITY_ATTRIBUTES inherit = { sizeof inherit, NULL, TRUE };
    HANDLE out_read = NULL, out_write = NULL, null_out = INVALID_HANDLE_VALUE;
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    if (flags & PORTABLE_STDOUT_PIPE) {
        if (!CreatePipe(&out_read, &out_write, &inherit, 0)) {
            snprintf(err, err_len, "CreatePipe: error %lu", GetLastError());
            return 0;
        }
        /* Only the write end goes to the child: EOF arrives when the child exits. */
        SetHandleInformation(out_read, HANDLE_FLAG_INHERIT, 0);
        si.hStdOutput = out_write;
    }
    if (flags & PORTABLE_STDERR_NULL) {
        null_out = CreateFileA("NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                               OPEN_EXISTING, 0, NULL);
        si.hStdError = null_out;
    }
    PROCESS_INFORMATION pi;
    BOOL ok = CreateProcessA(argv[0], cmd, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, &pi);
    DWORD spawn_error = GetLastError();
    if (out_write) {
        CloseHandle(out_write);
    }
    if (null_out != INVALID_HANDLE_VALUE) {
        CloseHandle(null_out);
    }
    if (!ok) {
        if (out_read) {
            CloseHandle(out_read);
        }
        snprintf(err, err_len, "CreateProcess %s: error %lu", argv[0], spawn_error);
        return 0;
    }
    /* The job kills the child when its last handle closes, i.e. when we exit or crash. A
     * process already in a job that forbids nesting cannot be put in ours: the child then
     * lives by portable_stop alone, which every caller runs. */
    HANDLE job = CreateJobObjectA(NULL, NULL);
    if (job) {
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
        memset(&limits, 0, sizeof limits);
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits) ||
            !AssignProcessToJobObject(job, pi.hProcess)) {
            CloseHandle(job);
            job = NULL;
        }
    }
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    p->process = pi.hProcess;
    p->job = job;
    p->out = out_read;
    p->live = 1;
    return 1;
}

int portable_wait(portable_proc *p, int timeout_ms, int *exit_code)
{
    if (!p->process) {
        return -1;
    }
    DWORD r = WaitForSingleObject(p->process, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
    if (r == WAIT_TIMEOUT) {
        return 0;
    }
    if (r != WAIT_OBJECT_0) {
        return -1;
    }
    DWORD code = 0;
    GetExitCodeProcess(p->process, &code);
    if (exit_code) {
        *exit_code = (int)code;
    }
    return 1;
}

static int pipe_read_byte(portable_proc *p, char *c, int64_t deadline)
{
    for (;;) {
        DWORD avail = 0;
        if (!PeekNamedPipe(p->out, NULL, 0, NULL, &avail, NULL)) {
            return -1; /* broken pipe: the child exited */
        }
        if (avail > 0) {
            DWORD got = 0;
            return ReadFile(p->out, c, 1, &got, NULL) && got == 1 ? 1 : -1;
        }
        if (portable_now_ms() >= deadline) {
            return 0;
        }
        Sleep(5);
    }
}

#else /* POSIX */

int portable_spawn(portable_proc *p, const char *const *argv, int flags, char *err, size_t err_len)
{
    zero_proc(p);
    int fds[2] = { -1, -1 };
    if ((flags & PORTABLE_STDOUT_PIPE) && pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, err_len, "pipe2: %s", strerror(errno));
        return 0;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_len, "fork: %s", strerror(errno));
        if (fds[0] >= 0) {
            close(fds[0]);
            close(fds[1]);
        }
        return 0;
    }
    if (pid == 0) {
#ifdef __linux__
        /* The child dies with us, even if we crash. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
#else
        (void)parent;
#endif
        if (flags & PORTABLE_OWN_GROUP) {
            setpgid(0, 0);
        }
        if (fds[1] >= 0) {
            dup2(fds[1], STDOUT_FILENO);
        }
        if (flags & PORTABLE_STDERR_NULL) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0) {
                dup2(devnull, STDERR_FILENO);
            }
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (fds[1] >= 0) {
        close(fds[1]);
    }
    p->pid = pid;
    p->out = fds[0];
    p->live = 1;
    return 1;
}

int portable_wait(portable_proc *p, int timeout_ms, int *exit_code)
{
    if (p->pid <= 0) {
        return -1;
    }
    int64_t deadline = portable_now_ms() + timeout_ms;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(p->pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            if (exit_code) {
                *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (timeout_ms >= 0 && portable_now_ms() >= deadline) {
            return 0;
        }
        if (r == 0) {
            portable_sleep_ms(5);
        }
    }
}

static int pipe_read_byte(portable_proc *p, char *c, int64_t deadline)
{
    for (;;) {
        int left = (int)(deadline - portable_now_ms());
        struct pollfd pf = { p->out, POLLIN, 0 };
        int r = poll(&pf, 1, left < 0 ? 0 : left);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return 0;
        }
        ssize_t n = read(p->out, c, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n == 1 ? 1 : -1;
    }
}

#endif

void portable_stop(portable_proc *p, int grace_ms)
{
    if (!p->live) {
        return;
    }
    p->live = 0;
    if (p->broker != PORTABLE_NO_SOCKET) {
        /* The broker stops the simulator when the connection closes. */
        portable_close_socket(p->broker);
        p->broker = PORTABLE_NO_SOCKET;
    }
#ifdef _WIN32
    (void)grace_ms;
    if (p->process) {
        TerminateProcess(p->process, 1);
        WaitForSingleObject(p->process, 5000);
        CloseHandle(p->process);
    }
    if (p->job) {
        CloseHandle(p->job);
    }
    if (p->out) {
        CloseHandle(p->out);
    }
    p->process = p->job = p->out = NULL;
#else
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        if (portable_wait(p, grace_ms, NULL) != 1) {
            kill(p->pid, SIGKILL);
            portable_wait(p, -1, NULL);
        }
    }
    if (p->out >= 0) {
        close(p->out);
    }
    p->pid = 0;
    p->out = -1;
#endif
}

int portable_read_line(portable_proc *p, char *line, size_t len, int timeout_ms)
{
    int64_t deadline = portable_now_ms() + timeout_ms;
    size_t n = 0;
    if (!p->live) {
        return -1;
    }
    for (;;) {
        char c;
        int r;
        if (p->broker != PORTABLE_NO_SOCKET) {
            int left = (int)(deadline - portable_now_ms());
            r = socket_readable(p->broker, left < 0 ? 0 : left)
                    ? (portable_recv(p->broker, &c, 1) == 1 ? 1 : -1)
                    : 0;
#ifdef _WIN32
        } else if (p->out) {
#else
        } else if (p->out >= 0) {
#endif
            r = pipe_read_byte(p, &c, deadline);
        } else {
            r = -1;
        }
        if (r <= 0) {
            if (len) {
                line[n < len ? n : len - 1] = '\0';
            }
            return r;
        }
        if (c == '\n') {
            break;
        }
        if (n + 1 < len) {
            line[n++] = c;
        }
    }
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ')) {
        n--;
    }
    line[n] = '\0';
    return 1;
}

/* Asks the broker on 127.0.0.1:port to start the simulator with argv[1..]: one request line,
 * the arguments separated by tabs; the broker answers with the simulator's stdout. */
static int broker_start(portable_proc *p, int port, const char *const *argv, char *err, size_t err_len)
{
    zero_proc(p);
    portable_socket s = portable_connect_loopback(port, 30);
    if (s == PORTABLE_NO_SOCKET) {
        snprintf(err, err_len, "cannot connect to the simulator broker on 127.0.0.1:%d", port);
        return 0;
    }
    char req[8192];
    size_t n = 0;
    for (size_t i = 1; argv[i]; i++) {
        int w = snprintf(req + n, sizeof req - n, "%s%s", i > 1 ? "\t" : "", argv[i]);
        if (w < 0 || (size_t)w >= sizeof req - n - 1) {
            portable_close_socket(s);
            snprintf(err, err_len, "simulator arguments too long");
            return 0;
        }
        n += (size_t)w;
    }
    req[n++] = '\n';
    if (!portable_send_all(s, req, n)) {
        portable_close_socket(s);
        snprintf(err, err_len, "the simulator broker closed the connection");
        return 0;
    }
    p->broker = s;
    p->live = 1;
    return 1;
}

int portable_start_sim(portable_proc *p, const char *const *argv, char *url, size_t url_len,
                       int timeout_ms, char *err, size_t err_len)
{
    const char *broker = getenv("UCWA_SIM_BROKER");
    int ok;
    if (broker && *broker) {
        ok = broker_start(p, atoi(broker), argv, err, err_len);
    } else if (!portable_is_executable(argv[0])) {
        zero_proc(p);
        snprintf(err, err_len, "ucwa-sim not found at %s", argv[0]);
        return 0;
    } else {
        int flags = PORTABLE_STDOUT_PIPE | PORTABLE_OWN_GROUP |
                    (getenv("UCWA_SIM_STDERR") ? 0 : PORTABLE_STDERR_NULL);
        ok = portable_spawn(p, argv, flags, err, err_len);
    }
    if (!ok) {
        return 0;
    }
    int r = portable_read_line(p, url, url_len, timeout_ms);
    if (r <= 0) {
        snprintf(err, err_len, r == 0 ? "ucwa-sim printed no URL within %d ms"
                                      : "ucwa-sim exited before printing its URL (after %d ms at most)",
                 timeout_ms);
        portable_stop(p, 1000);
        return 0;
    }
    return 1;
}
