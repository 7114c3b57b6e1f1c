// redis-runbook-exec-relay [--wait SECONDS [--proxy-pid PID]] SOCKET API_PATH
//
// `kubectl exec -i` without a second kubectl: the dashboard's Redis session runs through the
// tool's one `kubectl proxy --unix-socket SOCKET` (which holds the credentials) instead of a
// kubectl process of its own. SOCKET is the proxy's socket (in a private 0700 directory);
// API_PATH the exec request, e.g.
//   /api/v1/namespaces/default/pods/redis-0/exec?container=redis&stdin=true&stdout=true&stderr=true&command=redis-cli
//
// It sends the WebSocket upgrade kubectl sends (subprotocols v5.channel.k8s.io and
// v4.channel.k8s.io), expects 101, then relays: its stdin -> masked binary frames on channel 0;
// the server's channel 1 -> stdout, 2 -> stderr, 3 -> the Status (the command's exit code, as
// kubectl reports it); a close frame or the end of the connection -> exit. Its stdin's end ->
// v5's close-stdin message (255, 0), or under v4 a close frame. Pings are answered with pongs.
// Any answer but 101: kubectl's words for it on stderr (`Error from server (NotFound): pods
// "redis-0" not found`) and exit 1.
//
// Exit status: the command's (0 for "Success", N for NonZeroExitCode N), 1 when the exec could
// not run or the connection ended without a close frame or a Status, 2 for a usage error. C, not
// Swift: it lives as long as the session and must cost next to nothing (about 1 MB resident,
// against ~46 MiB for a kubectl).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROG "redis-runbook-exec-relay"

static int sock = -1;
static int v5 = 1;

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

// Writes all of buf; 0 on success, -1 on error (EPIPE included: SIGPIPE is ignored).
static int write_all(int fd, const void *buf, size_t len) {
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd pf = { .fd = fd, .events = POLLOUT, .revents = 0 };
                poll(&pf, 1, 1000);
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void random_bytes(unsigned char *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(b + got, n - got, 0);
        if (k < 0) {
            if (errno == EINTR) continue;
            // No getrandom: still a valid (if guessable) key and mask; the socket is private anyway.
            for (; got < n; got++) b[got] = (unsigned char)(rand() ^ (got * 131));
            return;
        }
        got += (size_t)k;
    }
}

static void base64(const unsigned char *in, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

// One masked frame from the client (RFC 6455 5.3): FIN, `opcode`, the payload `head` then `data`.
static int send_frame(int opcode, const unsigned char *head, size_t head_len, const unsigned char *data, size_t len) {
    size_t total = head_len + len;
    unsigned char *f = malloc(total + 14);
    if (!f) return -1;
    size_t o = 0;
    f[o++] = 0x80 | (unsigned char)opcode;
    if (total < 126) {
        f[o++] = 0x80 | (unsigned char)total;
    } else if (total <= 0xFFFF) {
        f[o++] = 0x80 | 126;
        f[o++] = (unsigned char)(total >> 8);
        f[o++] = (unsigned char)total;
    } else {
        f[o++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) f[o++] = (unsigned char)((uint64_t)total >> (8 * i));
    }
    unsigned char mask[4];
    random_bytes(mask, 4);
    memcpy(f + o, mask, 4);
    o += 4;
    for (size_t i = 0; i < total; i++) {
        unsigned char c = i < head_len ? head[i] : data[i - head_len];
        f[o + i] = c ^ mask[i & 3];
    }
    int r = write_all(sock, f, o + total);
    free(f);
    return r;
}

// ---- A minimal reader of the Status JSON (the fields kubectl prints) ----

// The string value of the first `"key":"..."` at or after `from`, unescaped into out; NULL if absent.
static const char *json_string(const char *json, const char *key, char *out, size_t cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != '"') return NULL;
    p++;
    size_t o = 0;
    while (*p && *p != '"' && o + 4 < cap) {
        if (*p == '\\' && p[1]) {
            p++;
            switch (*p) {
            case 'n': out[o++] = '\n'; break;
            case 't': out[o++] = '\t'; break;
            case 'r': out[o++] = '\r'; break;
            case 'b': out[o++] = '\b'; break;
            case 'f': out[o++] = '\f'; break;
            case 'u': {
                unsigned v = 0;
                int k = 0;
                for (; k < 4 && p[1 + k]; k++) {
                    char h = p[1 + k];
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 0);
                }
                p += k;
                if (v < 0x80) out[o++] = (char)v;
                else if (v < 0x800) { out[o++] = (char)(0xC0 | v >> 6); out[o++] = (char)(0x80 | (v & 63)); }
                else { out[o++] = (char)(0xE0 | v >> 12); out[o++] = (char)(0x80 | (v >> 6 & 63)); out[o++] = (char)(0x80 | (v & 63)); }
                break;
            }
            default: out[o++] = *p; break;
            }
            p++;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = 0;
    return out;
}

// Splits a Status into its top level (`top`, with the "details" object blanked out, so that its
// "reason" and "message" are not taken for the Status's own, whatever the key order) and that
// "details" object (`details`, "" when there is none). Both are as long as json.
static void split_details(const char *json, char *top, char *details) {
    size_t n = strlen(json);
    memcpy(top, json, n + 1);
    details[0] = 0;
    const char *d = strstr(json, "\"details\"");
    if (!d) return;
    const char *p = strchr(d, '{');
    if (!p) return;
    int depth = 0, in_string = 0;
    const char *q = p;
    for (; *q; q++) {
        if (in_string) {
            if (*q == '\\' && q[1]) q++;
            else if (*q == '"') in_string = 0;
        } else if (*q == '"') in_string = 1;
        else if (*q == '{' || *q == '[') depth++;
        else if ((*q == '}' || *q == ']') && --depth == 0) { q++; break; }
    }
    size_t len = (size_t)(q - p);
    memcpy(details, p, len);
    details[len] = 0;
    memset(top + (p - json), ' ', len);
}

// The exec's exit code from its channel-3 Status, printing kubectl's words for a failure.
static int status_exit_code(const char *json) {
    static char top[8192], details[8192];
    char status[64], reason[128], message[4096], code[32];
    split_details(json, top, details);
    if (json_string(top, "status", status, sizeof status) && strcmp(status, "Success") == 0) return 0;
    if (!json_string(top, "reason", reason, sizeof reason)) reason[0] = 0;
    if (strcmp(reason, "NonZeroExitCode") == 0) {
        const char *causes = strstr(details, "\"causes\"");
        if (causes && json_string(causes, "message", code, sizeof code)) {
            int n = atoi(code);
            fprintf(stderr, "command terminated with exit code %d\n", n);
            return n > 0 && n < 256 ? n : 1;
        }
    }
    if (json_string(top, "message", message, sizeof message)) fprintf(stderr, "error: %s\n", message);
    else fprintf(stderr, "error: the exec failed: %s\n", json);
    return 1;
}

// ---- The upgrade ----

static unsigned char buf[1 << 16];
static size_t buf_len = 0;   // bytes read from the socket not yet consumed

// Reads more of the socket into buf: > 0 bytes read, 0 end of the connection, -1 an error,
// -2 buf is full, -3 nothing within timeout_ms.
static ssize_t read_more(int timeout_ms) {
    if (buf_len == sizeof buf) return -2;
    for (;;) {
        struct pollfd pf = { .fd = sock, .events = POLLIN, .revents = 0 };
        int r = poll(&pf, 1, timeout_ms);
        if (r == 0) return -3;
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        ssize_t n = read(sock, buf + buf_len, sizeof buf - buf_len);
        if (n < 0) { if (errno == EINTR || errno == EAGAIN) continue; return -1; }
        buf_len += (size_t)n;
        return n;
    }
}

static const char *header_value(const char *head, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= cap) len = cap - 1;
            memcpy(out, v, len);
            out[len] = 0;
            return out;
        }
    }
    return NULL;
}

// A refusal (not 101): read its body (Content-Length, chunked or to the end), say it as kubectl would.
static void refused(int code, const char *head, size_t head_len) {
    char value[64];
    size_t body_start = head_len;
    long want = -1;
    int chunked = header_value(head, "Transfer-Encoding", value, sizeof value) && strcasestr(value, "chunked");
    if (header_value(head, "Content-Length", value, sizeof value)) want = atol(value);
    for (;;) {
        size_t have = buf_len - body_start;
        if (want >= 0 && (long)have >= want) break;
        if (chunked && memmem(buf + body_start, have, "\r\n0\r\n", 5)) break;
        if (chunked && have >= 3 && memcmp(buf + body_start, "0\r\n", 3) == 0) break;
        if (read_more(10000) <= 0) break;
    }
    // De-chunk in place (sizes in hex, each followed by CRLF).
    char body[sizeof buf + 1];
    size_t bl = 0;
    if (chunked) {
        size_t p = body_start;
        while (p < buf_len) {
            char *end;
            unsigned long sz = strtoul((const char *)buf + p, &end, 16);
            const unsigned char *crlf = memmem(buf + p, buf_len - p, "\r\n", 2);
            if (!crlf || sz == 0) break;
            p = (size_t)(crlf - buf) + 2;
            if (p + sz > buf_len) sz = buf_len - p;
            memcpy(body + bl, buf + p, sz);
            bl += sz;
            p += sz + 2;
        }
    } else {
        bl = buf_len - body_start;
        if (want >= 0 && (long)bl > want) bl = (size_t)want;
        memcpy(body, buf + body_start, bl);
    }
    body[bl] = 0;
    static char top[sizeof buf + 1], details[sizeof buf + 1];
    char reason[128], message[4096];
    split_details(body, top, details);
    if (json_string(top, "message", message, sizeof message)) {
        if (json_string(top, "reason", reason, sizeof reason) && reason[0])
            fprintf(stderr, "Error from server (%s): %s\n", reason, message);
        else
            fprintf(stderr, "Error from server: %s\n", message);
    } else {
        while (bl > 0 && (body[bl - 1] == '\n' || body[bl - 1] == '\r' || body[bl - 1] == ' ')) body[--bl] = 0;
        fprintf(stderr, "error: unable to upgrade connection: %d%s%s\n", code, bl ? " " : "", body);
    }
    exit(1);
}

static void upgrade(const char *path) {
    unsigned char key[16];
    char key64[32];
    random_bytes(key, sizeof key);
    base64(key, sizeof key, key64);
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: localhost\r\n"
                     "User-Agent: redis-runbook\r\n"
                     "Connection: Upgrade\r\n"
                     "Upgrade: websocket\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"
                     "\r\n",
                     path, key64);
    if (n < 0 || (size_t)n >= sizeof req) die(PROG ": API path too long", "");
    if (write_all(sock, req, (size_t)n) != 0) die(PROG ": cannot send the exec request: %s", strerror(errno));
    // The response head, within 30 s (the API server asks the kubelet, which starts the process).
    const unsigned char *end = NULL;
    while (!(end = memmem(buf, buf_len, "\r\n\r\n", 4))) {
        ssize_t r = read_more(30000);
        if (r == -3) die(PROG ": no answer to the exec request within 30 s%s", "");
        if (r <= 0) die("error: the connection to the API server ended before it answered the exec request%s", "");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    char head[sizeof buf + 1];
    memcpy(head, buf, head_len);
    head[head_len] = 0;
    int code = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &code) != 1) die(PROG ": not an HTTP answer%s", "");
    if (code != 101) refused(code, head, head_len);
    char proto[64];
    v5 = !(header_value(head, "Sec-WebSocket-Protocol", proto, sizeof proto) && strcmp(proto, "v4.channel.k8s.io") == 0);
    memmove(buf, buf + head_len, buf_len - head_len);
    buf_len -= head_len;
}

// ---- The relay ----

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    // --wait SECONDS [--proxy-pid PID]: the proxy is still starting. Its socket is tried every
    // 2 ms until it accepts, for at most SECONDS and only while process PID (the proxy) lives,
    // so the relay's own start overlaps kubectl's instead of following it (issue 16, figure 3).
    double wait = 0;
    long proxy_pid = 0;
    while (argc > 3 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--wait") == 0) wait = atof(argv[2]);
        else if (strcmp(argv[1], "--proxy-pid") == 0) proxy_pid = atol(argv[2]);
        else break;
        argv += 2; argc -= 2;
    }
    if (argc != 3 || argv[2][0] != '/' || wait < 0) {
        fprintf(stderr, "usage: " PROG " [--wait SECONDS [--proxy-pid PID]] SOCKET API_PATH\n"
                        "Runs a pod exec through kubectl proxy's unix socket: stdin, stdout, stderr and the exit code, as kubectl exec -i.\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(argv[1]) >= sizeof addr.sun_path) die(PROG ": socket path too long: %s", argv[1]);
    strcpy(addr.sun_path, argv[1]);
    double deadline = now_seconds() + wait;
    for (;;) {
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0) die(PROG ": socket: %s", strerror(errno));
        if (connect(sock, (struct sockaddr *)&addr, sizeof addr) == 0) break;
        int e = errno;
        close(sock);
        sock = -1;
        int proxy_alive = proxy_pid <= 0 || kill((pid_t)proxy_pid, 0) == 0 || errno == EPERM;
        if ((e == ENOENT || e == ECONNREFUSED) && now_seconds() < deadline && proxy_alive) {
            struct timespec step = { 0, 2000000 };
            nanosleep(&step, NULL);
            continue;
        }
        if (!proxy_alive) {
            fprintf(stderr, PROG ": the kubectl proxy at %s ended before it served\n", argv[1]);
        } else {
            fprintf(stderr, PROG ": cannot connect to the kubectl proxy at %s: %s\n", argv[1], strerror(e));
        }
        return 1;
    }
    upgrade(argv[2]);

    int stdin_open = 1;
    int exit_code = -1;          // from the channel-3 Status
    int message_channel = -1;    // the channel of a fragmented message in progress
    unsigned char status_json[8192];
    size_t status_len = 0;
    static unsigned char in[32768];
    for (;;) {
        // Every whole frame already read.
        for (;;) {
            if (buf_len < 2) break;
            int fin = buf[0] & 0x80, opcode = buf[0] & 0x0F, masked = buf[1] & 0x80;
            uint64_t len = buf[1] & 0x7F;
            size_t o = 2;
            if (len == 126) {
                if (buf_len < 4) break;
                len = (uint64_t)buf[2] << 8 | buf[3];
                o = 4;
            } else if (len == 127) {
                if (buf_len < 10) break;
                len = 0;
                for (int i = 0; i < 8; i++) len = len << 8 | buf[2 + i];
                o = 10;
            }
            if (len > sizeof buf - 14) die(PROG ": a frame larger than the relay's buffer%s", "");
            unsigned char mask[4] = { 0, 0, 0, 0 };
            if (masked) {
                if (buf_len < o + 4) break;
                memcpy(mask, buf + o, 4);
                o += 4;
            }
            if (buf_len < o + len) break;
            unsigned char *p = buf + o;
            if (masked) for (uint64_t i = 0; i < len; i++) p[i] ^= mask[i & 3];
            if (opcode == 8) {                      // close: answer it, then done
                send_frame(8, p, len >= 2 ? 2 : 0, NULL, 0);
                if (exit_code < 0 && status_len > 0) { status_json[status_len] = 0; exit_code = status_exit_code((char *)status_json); }
                return exit_code < 0 ? 0 : exit_code;
            } else if (opcode == 9) {               // ping
                send_frame(10, p, (size_t)len, NULL, 0);
            } else if (opcode == 1 || opcode == 2 || opcode == 0) {
                const unsigned char *data = p;
                size_t dl = (size_t)len;
                if (opcode != 0) {
                    message_channel = dl > 0 ? data[0] : -1;
                    if (dl > 0) { data++; dl--; }
                }
                if (message_channel == 1) {
                    if (write_all(1, data, dl) != 0) return 1;
                } else if (message_channel == 2) {
                    write_all(2, data, dl);
                } else if (message_channel == 3) {
                    size_t room = sizeof status_json - 1 - status_len;
                    if (dl > room) dl = room;
                    memcpy(status_json + status_len, data, dl);
                    status_len += dl;
                    if (fin) {
                        status_json[status_len] = 0;
                        exit_code = status_exit_code((char *)status_json);
                        status_len = 0;
                    }
                }
                if (fin) message_channel = -1;
            }
            // opcode 10 (pong) and others: ignored.
            memmove(buf, buf + o + len, buf_len - o - len);
            buf_len -= o + len;
        }
        struct pollfd pf[2] = { { .fd = sock, .events = POLLIN, .revents = 0 }, { .fd = 0, .events = POLLIN, .revents = 0 } };
        int r = poll(pf, stdin_open ? 2 : 1, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            die(PROG ": poll: %s", strerror(errno));
        }
        if (pf[0].revents) {
            ssize_t n = read(sock, buf + buf_len, sizeof buf - buf_len);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {
                // The connection ended without a close frame: the Status said how it ended, or it broke.
                if (exit_code >= 0) return exit_code;
                fprintf(stderr, "error: the exec stream through kubectl proxy ended without a status (connection lost)\n");
                return 1;
            }
            buf_len += (size_t)n;
        }
        if (stdin_open && pf[1].revents) {
            ssize_t n = read(0, in, sizeof in);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {
                stdin_open = 0;
                // v5: close the process's stdin and wait for its output and status; v4: just close.
                if (v5) {
                    static const unsigned char close_stdin[2] = { 255, 0 };
                    send_frame(2, close_stdin, 2, NULL, 0);
                } else {
                    static const unsigned char normal[2] = { 0x03, 0xE8 };
                    send_frame(8, normal, 2, NULL, 0);
                }
            } else {
                static const unsigned char channel0 = 0;
                if (send_frame(2, &channel0, 1, in, (size_t)n) != 0) {
                    fprintf(stderr, "error: the exec stream through kubectl proxy ended: %s\n", strerror(errno));
                    return 1;
                }
            }
        }
    }
}
