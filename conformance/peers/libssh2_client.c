/*
 * A small libssh2 client for sshts's interop tests (built by the test with
 * `gcc libssh2_client.c -lssh2`). One connection per run, options from argv; prints
 * one JSON object: {"ok":..., "error":..., "kex":..., "cipher":..., "hmac":...,
 * "stdout":..., "stderr":..., "exitStatus":..., "forwarded":..., "then":...}.
 *
 *   --port N --user U --known-hosts FILE
 *   [--kex L] [--ciphers L] [--hmac L] [--hostkeys L]           (libssh2's names)
 *   [--password PW | --kbdint PW | --key FILE]
 *   [--command CMD [--stdin-file F]] [--pty-line L ...] [--forward PORT --forward-text T]
 *   [--then CMD] | --list kex|cipher|mac
 */
#include <arpa/inet.h>
#include <libssh2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *kbdint_password = "";

static void json_string(const char *key, const char *s, size_t n, int comma) {
  printf("\"%s\":\"", key);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
  printf("\"%s", comma ? "," : "");
}

struct buf {
  char *data;
  size_t len, cap;
};

static void append(struct buf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = realloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
}

static int fail(LIBSSH2_SESSION *s, const char *what) {
  char msg[1024];
  char *err = "";
  if (s) libssh2_session_last_error(s, &err, NULL, 0);
  snprintf(msg, sizeof msg, "%s: %s", what, err);
  printf("{\"ok\":false,");
  json_string("error", msg, strlen(msg), 0);
  printf("}\n");
  return 1;
}

static LIBSSH2_USERAUTH_KBDINT_RESPONSE_FUNC(answer) {
  (void)name, (void)name_len, (void)instruction, (void)instruction_len, (void)prompts;
  (void)abstract;
  for (int i = 0; i < num_prompts; i++) {
    responses[i].text = strdup(kbdint_password);
    responses[i].length = strlen(kbdint_password);
  }
}

static void read_all(LIBSSH2_CHANNEL *c, struct buf *out, int stream) {
  char tmp[65536];
  for (;;) {
    ssize_t n = libssh2_channel_read_ex(c, stream, tmp, sizeof tmp);
    if (n <= 0) break;
    append(out, tmp, n);
  }
}

/* Reads until `needle` shows up (blocking reads; the shell always answers). */
static void read_until(LIBSSH2_CHANNEL *c, struct buf *out, const char *needle) {
  char tmp[4096];
  size_t start = out->len;
  while (!(out->len > start && strstr(out->data + start, needle))) {
    ssize_t n = libssh2_channel_read(c, tmp, sizeof tmp);
    if (n <= 0) return;
    append(out, tmp, n);
  }
}

static int known_type(int hostkey_type) {
  switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  }
}

static void print_list(LIBSSH2_SESSION *s, int method) {
  const char **algs;
  int n = libssh2_session_supported_algs(s, method, &algs);
  printf("[");
  for (int i = 0; i < n; i++) printf("%s\"%s\"", i ? "," : "", algs[i]);
  printf("]\n");
  if (n > 0) libssh2_free(s, algs);
}

int main(int argc, char **argv) {
  const char *user = "", *known = "", *kex = 0, *ciphers = 0, *hmac = 0, *hostkeys = 0;
  const char *password = 0, *keyfile = 0, *command = 0, *stdin_file = 0, *then = 0;
  const char *forward_text = "hello", *list = 0;
  const char *pty_lines[16];
  int npty = 0, port = 22, forward = 0, kbdint = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--user")) user = v;
    else if (!strcmp(k, "--known-hosts")) known = v;
    else if (!strcmp(k, "--kex")) kex = v;
    else if (!strcmp(k, "--ciphers")) ciphers = v;
    else if (!strcmp(k, "--hmac")) hmac = v;
    else if (!strcmp(k, "--hostkeys")) hostkeys = v;
    else if (!strcmp(k, "--password")) password = v;
    else if (!strcmp(k, "--kbdint")) kbdint_password = v, kbdint = 1;
    else if (!strcmp(k, "--key")) keyfile = v;
    else if (!strcmp(k, "--command")) command = v;
    else if (!strcmp(k, "--stdin-file")) stdin_file = v;
    else if (!strcmp(k, "--forward")) forward = atoi(v);
    else if (!strcmp(k, "--forward-text")) forward_text = v;
    else if (!strcmp(k, "--then")) then = v;
    else if (!strcmp(k, "--list")) list = v;
    else if (!strcmp(k, "--pty-line") && npty < 16) pty_lines[npty++] = v;
  }
  libssh2_init(0);
  LIBSSH2_SESSION *s = libssh2_session_init();
  if (list) {
    print_list(s, !strcmp(list, "kex") ? LIBSSH2_METHOD_KEX
                  : !strcmp(list, "cipher") ? LIBSSH2_METHOD_CRYPT_CS
                                            : LIBSSH2_METHOD_MAC_CS);
    return 0;
  }
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) return fail(0, "tcp connect");
  if (kex && libssh2_session_method_pref(s, LIBSSH2_METHOD_KEX, kex)) return fail(s, "kex option");
  if (ciphers && (libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_CS, ciphers) ||
                  libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_SC, ciphers)))
    return fail(s, "cipher option");
  if (hmac && (libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_CS, hmac) ||
               libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_SC, hmac)))
    return fail(s, "mac option");
  if (hostkeys && libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY, hostkeys))
    return fail(s, "hostkey option");
  if (libssh2_session_handshake(s, sock)) return fail(s, "handshake");

  size_t keylen;
  int keytype;
  const char *hostkey = libssh2_session_hostkey(s, &keylen, &keytype);
  LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(s);
  if (libssh2_knownhost_readfile(kh, known, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0)
    return fail(s, "read known_hosts");
  struct libssh2_knownhost *host;
  if (libssh2_knownhost_checkp(kh, "127.0.0.1", port, hostkey, keylen,
                               LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                   known_type(keytype),
                               &host) != LIBSSH2_KNOWNHOST_CHECK_MATCH)
    return fail(s, "host key not in known_hosts");
  libssh2_knownhost_free(kh);

  int rc;
  if (password) rc = libssh2_userauth_password(s, user, password);
  else if (kbdint) rc = libssh2_userauth_keyboard_interactive(s, user, answer);
  else if (keyfile) rc = libssh2_userauth_publickey_fromfile(s, user, NULL, keyfile, NULL);
  else rc = -1;
  if (rc) return fail(s, "authentication");

  struct buf out = {0}, err = {0}, fwd = {0}, then_out = {0};
  int exit_status = -1;
  char tmp[65536];
  if (forward) {
    LIBSSH2_CHANNEL *c = libssh2_channel_direct_tcpip_ex(s, "127.0.0.1", forward, "127.0.0.1", 0);
    if (!c) return fail(s, "direct-tcpip");
    libssh2_channel_write(c, forward_text, strlen(forward_text));
    while (fwd.len < strlen(forward_text)) {
      ssize_t n = libssh2_channel_read(c, tmp, sizeof tmp);
      if (n <= 0) break;
      append(&fwd, tmp, n);
    }
    libssh2_channel_free(c);
  }
  if (npty) {
    LIBSSH2_CHANNEL *c = libssh2_channel_open_session(s);
    if (!c) return fail(s, "open session");
    if (libssh2_channel_request_pty(c, "xterm")) return fail(s, "pty");
    if (libssh2_channel_shell(c)) return fail(s, "shell");
    read_until(c, &out, "$ ");
    for (int i = 0; i < npty; i++) {
      libssh2_channel_write(c, pty_lines[i], strlen(pty_lines[i]));
      libssh2_channel_write(c, "\r", 1);
      read_until(c, &out, "$ ");
    }
    libssh2_channel_write(c, "exit\r", 5);
    read_all(c, &out, 0);
    libssh2_channel_close(c);
    libssh2_channel_wait_closed(c);
    exit_status = libssh2_channel_get_exit_status(c);
    libssh2_channel_free(c);
  }
  if (command) {
    LIBSSH2_CHANNEL *c = libssh2_channel_open_session(s);
    if (!c) return fail(s, "open session");
    if (libssh2_channel_exec(c, command)) return fail(s, "exec");
    if (stdin_file) {
      FILE *f = fopen(stdin_file, "rb");
      if (!f) return fail(0, "stdin file");
      size_t n;
      while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        size_t off = 0;
        while (off < n) {
          ssize_t w = libssh2_channel_write(c, tmp + off, n - off);
          if (w < 0) return fail(s, "write");
          off += w;
        }
      }
      fclose(f);
    }
    libssh2_channel_send_eof(c);
    read_all(c, &out, 0);
    read_all(c, &err, SSH_EXTENDED_DATA_STDERR);
    libssh2_channel_close(c);
    libssh2_channel_wait_closed(c);
    exit_status = libssh2_channel_get_exit_status(c);
    libssh2_channel_free(c);
  }
  if (then) {
    LIBSSH2_CHANNEL *c = libssh2_channel_open_session(s);
    if (!c || libssh2_channel_exec(c, then)) return fail(s, "second exec");
    libssh2_channel_send_eof(c);
    read_all(c, &then_out, 0);
    libssh2_channel_close(c);
    libssh2_channel_wait_closed(c);
    libssh2_channel_free(c);
  }
  printf("{\"ok\":true,");
  const char *k = libssh2_session_methods(s, LIBSSH2_METHOD_KEX);
  const char *ci = libssh2_session_methods(s, LIBSSH2_METHOD_CRYPT_CS);
  const char *hm = libssh2_session_methods(s, LIBSSH2_METHOD_MAC_CS);
  json_string("kex", k ? k : "", k ? strlen(k) : 0, 1);
  json_string("cipher", ci ? ci : "", ci ? strlen(ci) : 0, 1);
  json_string("hmac", hm ? hm : "", hm ? strlen(hm) : 0, 1);
  json_string("stdout", out.data ? out.data : "", out.len, 1);
  json_string("stderr", err.data ? err.data : "", err.len, 1);
  json_string("forwarded", fwd.data ? fwd.data : "", fwd.len, 1);
  json_string("then", then_out.data ? then_out.data : "", then_out.len, 1);
  printf("\"exitStatus\":%d}\n", exit_status);
  libssh2_session_disconnect(s, "bye");
  libssh2_session_free(s);
  close(sock);
  libssh2_exit();
  return 0;
}
