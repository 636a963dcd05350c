/*
 * A small libssh client for sshts's interop tests (built by the test with
 * `gcc libssh_client.c -lssh`). One connection per run, options from argv; prints
 * one JSON object: {"ok":..., "error":..., "kex":..., "cipher":..., "hmac":...,
 * "stdout":..., "stderr":..., "exitStatus":..., "forwarded":...}.
 *
 *   --port N --user U --known-hosts FILE
 *   [--kex L] [--ciphers L] [--hmac L] [--hostkeys L] [--pubkey-types L]   (libssh's names)
 *   [--password PW | --kbdint PW | --key FILE]
 *   [--command CMD [--stdin-file F]] [--pty-line L ...] [--forward PORT --forward-text T]
 *   [--rekey-data BYTES] [--then CMD]   (a second command on the same connection)
 *
 * Without algorithm options libssh offers its defaults (a name list with a trailing
 * comma in 0.10.6, which sshts used to refuse).
 */
#include <libssh/libssh.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int fail(ssh_session s, const char *what) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s: %s", what, s ? ssh_get_error(s) : "");
  printf("{\"ok\":false,");
  json_string("error", msg, strlen(msg), 0);
  printf("}\n");
  return 1;
}

/* Reads until `needle` shows up in what was read (or the channel ends / 20 s pass). */
static void read_until(ssh_channel c, struct buf *out, const char *needle) {
  char tmp[4096];
  size_t start = out->len;
  for (int waited = 0; waited < 20000;) {
    int n = ssh_channel_read_timeout(c, tmp, sizeof tmp, 0, 200);
    if (n > 0) append(out, tmp, n);
    else if (n == 0) waited += 200;
    if (n < 0 || ssh_channel_is_eof(c)) return;
    if (out->len > start && strstr(out->data + start, needle)) return;
  }
}

int main(int argc, char **argv) {
  const char *user = "", *known = "", *kex = 0, *ciphers = 0, *hmac = 0, *hostkeys = 0;
  const char *pubkey_types = 0, *password = 0, *kbdint = 0, *keyfile = 0, *command = 0;
  const char *stdin_file = 0, *forward_text = "hello", *then = 0;
  const char *pty_lines[16];
  int npty = 0, port = 22, forward = 0, pty = 0;
  uint64_t rekey = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--user")) user = v;
    else if (!strcmp(k, "--known-hosts")) known = v;
    else if (!strcmp(k, "--kex")) kex = v;
    else if (!strcmp(k, "--ciphers")) ciphers = v;
    else if (!strcmp(k, "--hmac")) hmac = v;
    else if (!strcmp(k, "--hostkeys")) hostkeys = v;
    else if (!strcmp(k, "--pubkey-types")) pubkey_types = v;
    else if (!strcmp(k, "--password")) password = v;
    else if (!strcmp(k, "--kbdint")) kbdint = v;
    else if (!strcmp(k, "--key")) keyfile = v;
    else if (!strcmp(k, "--command")) command = v;
    else if (!strcmp(k, "--stdin-file")) stdin_file = v;
    else if (!strcmp(k, "--forward")) forward = atoi(v);
    else if (!strcmp(k, "--forward-text")) forward_text = v;
    else if (!strcmp(k, "--rekey-data")) rekey = strtoull(v, 0, 10);
    else if (!strcmp(k, "--then")) then = v;
    else if (!strcmp(k, "--pty-line") && npty < 16) pty_lines[npty++] = v, pty = 1;
  }
  ssh_session s = ssh_new();
  int no = 0;
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
  ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, user);
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known);
  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  if (kex && ssh_options_set(s, SSH_OPTIONS_KEY_EXCHANGE, kex) < 0) return fail(s, "kex option");
  if (ciphers && (ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, ciphers) < 0 ||
                  ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, ciphers) < 0))
    return fail(s, "cipher option");
  if (hmac && (ssh_options_set(s, SSH_OPTIONS_HMAC_C_S, hmac) < 0 ||
               ssh_options_set(s, SSH_OPTIONS_HMAC_S_C, hmac) < 0))
    return fail(s, "hmac option");
  if (hostkeys && ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, hostkeys) < 0)
    return fail(s, "hostkeys option");
  if (pubkey_types && ssh_options_set(s, SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES, pubkey_types) < 0)
    return fail(s, "pubkey types option");
  if (rekey) ssh_options_set(s, SSH_OPTIONS_REKEY_DATA, &rekey);
  if (ssh_connect(s) != SSH_OK) return fail(s, "connect");
  if (ssh_session_is_known_server(s) != SSH_KNOWN_HOSTS_OK) return fail(s, "host key not known");
  int rc;
  if (password) {
    rc = ssh_userauth_password(s, NULL, password);
  } else if (kbdint) {
    rc = ssh_userauth_kbdint(s, NULL, NULL);
    while (rc == SSH_AUTH_INFO) {
      int n = ssh_userauth_kbdint_getnprompts(s);
      for (int i = 0; i < n; i++) ssh_userauth_kbdint_setanswer(s, i, kbdint);
      rc = ssh_userauth_kbdint(s, NULL, NULL);
    }
  } else if (keyfile) {
    ssh_key key;
    if (ssh_pki_import_privkey_file(keyfile, NULL, NULL, NULL, &key) != SSH_OK)
      return fail(s, "import key");
    rc = ssh_userauth_publickey(s, NULL, key);
    ssh_key_free(key);
  } else {
    rc = ssh_userauth_none(s, NULL);
  }
  if (rc != SSH_AUTH_SUCCESS) return fail(s, "authentication");

  struct buf out = {0}, err = {0}, fwd = {0};
  int exit_status = -1;
  char tmp[65536];
  if (forward) {
    ssh_channel c = ssh_channel_new(s);
    if (ssh_channel_open_forward(c, "127.0.0.1", forward, "127.0.0.1", 0) != SSH_OK)
      return fail(s, "direct-tcpip");
    ssh_channel_write(c, forward_text, strlen(forward_text));
    while (fwd.len < strlen(forward_text)) {
      int n = ssh_channel_read_timeout(c, tmp, sizeof tmp, 0, 20000);
      if (n <= 0) break;
      append(&fwd, tmp, n);
    }
    ssh_channel_close(c);
    ssh_channel_free(c);
  }
  if (pty) {
    ssh_channel c = ssh_channel_new(s);
    if (ssh_channel_open_session(c) != SSH_OK) return fail(s, "open session");
    if (ssh_channel_request_pty_size(c, "xterm", 80, 24) != SSH_OK) return fail(s, "pty");
    if (ssh_channel_request_shell(c) != SSH_OK) return fail(s, "shell");
    read_until(c, &out, "$ ");
    for (int i = 0; i < npty; i++) {
      ssh_channel_write(c, pty_lines[i], strlen(pty_lines[i]));
      ssh_channel_write(c, "\r", 1);
      read_until(c, &out, "$ ");
    }
    ssh_channel_write(c, "exit\r", 5);
    read_until(c, &out, "\x01never");
    exit_status = ssh_channel_get_exit_status(c);
    ssh_channel_close(c);
    ssh_channel_free(c);
  }
  if (command) {
    ssh_channel c = ssh_channel_new(s);
    if (ssh_channel_open_session(c) != SSH_OK) return fail(s, "open session");
    if (ssh_channel_request_exec(c, command) != SSH_OK) return fail(s, "exec");
    if (stdin_file) {
      FILE *f = fopen(stdin_file, "rb");
      if (!f) return fail(0, "stdin file");
      size_t n;
      while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (ssh_channel_write(c, tmp, n) != (int)n) return fail(s, "write");
      }
      fclose(f);
    }
    ssh_channel_send_eof(c);
    for (;;) {
      int n = ssh_channel_read(c, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      append(&out, tmp, n);
    }
    for (;;) {
      int n = ssh_channel_read(c, tmp, sizeof tmp, 1);
      if (n <= 0) break;
      append(&err, tmp, n);
    }
    exit_status = ssh_channel_get_exit_status(c);
    ssh_channel_close(c);
    ssh_channel_free(c);
  }
  struct buf then_out = {0};
  if (then) {
    ssh_channel c = ssh_channel_new(s);
    if (ssh_channel_open_session(c) != SSH_OK) return fail(s, "open session");
    if (ssh_channel_request_exec(c, then) != SSH_OK) return fail(s, "exec");
    ssh_channel_send_eof(c);
    for (;;) {
      int n = ssh_channel_read(c, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      append(&then_out, tmp, n);
    }
    ssh_channel_close(c);
    ssh_channel_free(c);
  }
  printf("{\"ok\":true,");
  json_string("then", then_out.data ? then_out.data : "", then_out.len, 1);
  const char *k = ssh_get_kex_algo(s), *ci = ssh_get_cipher_out(s), *hm = ssh_get_hmac_out(s);
  json_string("kex", k ? k : "", k ? strlen(k) : 0, 1);
  json_string("cipher", ci ? ci : "", ci ? strlen(ci) : 0, 1);
  json_string("hmac", hm ? hm : "", hm ? strlen(hm) : 0, 1);
  json_string("stdout", out.data ? out.data : "", out.len, 1);
  json_string("stderr", err.data ? err.data : "", err.len, 1);
  json_string("forwarded", fwd.data ? fwd.data : "", fwd.len, 1);
  printf("\"exitStatus\":%d}\n", exit_status);
  ssh_disconnect(s);
  ssh_free(s);
  return 0;
}
