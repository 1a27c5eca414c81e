/* Entry point of the native addon and the small helpers every part uses.
 * Only what Node cannot do lives here: AF_PACKET sockets, TCP_MD5SIG and TTL on TCP sockets,
 * interface index and MAC lookup, the received TTL of UDP datagrams (BFD's GTSM check). */
#include "common.h"
#include <string.h>
#include <stdio.h>

const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case EMSGSIZE: return "EMSGSIZE";
    case ENETDOWN: return "ENETDOWN";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EADDRINUSE: return "EADDRINUSE";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EFAULT: return "EFAULT";
    case ENOENT: return "ENOENT";
    case ENOTSOCK: return "ENOTSOCK";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ENETUNREACH: return "ENETUNREACH";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EINTR: return "EINTR";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "EUNKNOWN";
  }
}

napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, strerror(err), errno_name(err));
  napi_throw_error(env, errno_name(err), msg);
  return NULL;
}

napi_value throw_msg(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

int arg_string(napi_env env, napi_value v, char *buf, size_t len, const char *name) {
  size_t n = 0;
  /* The full UTF-8 length first: a copy into `buf` stops before a multi-byte character that does
   * not fit, so a too-long string could come back shorter than the buffer and pass (an 82-byte
   * key truncated to 80, an interface name cut to another interface's). */
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a string", name);
    napi_throw_type_error(env, "EINVAL", msg);
    return -1;
  }
  if (n >= len - 1 || napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok || strlen(buf) != n) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s is too long", name);
    napi_throw_type_error(env, "EINVAL", msg);
    return -1;
  }
  return 0;
}

int arg_int32(napi_env env, napi_value v, int32_t *out, const char *name) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    napi_throw_type_error(env, "EINVAL", msg);
    return -1;
  }
  return 0;
}

int arg_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *name) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, v, data, len) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a Buffer", name);
    napi_throw_type_error(env, "EINVAL", msg);
    return -1;
  }
  return 0;
}

int arg_int32_range(napi_env env, napi_value v, int32_t *out, const char *name, int32_t min, int32_t max) {
  if (arg_int32(env, v, out, name) < 0) return -1;
  if (*out < min || *out > max) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be %d..%d", name, (int)min, (int)max);
    napi_throw_error(env, "EINVAL", msg);
    return -1;
  }
  return 0;
}

int arg_family(napi_env env, napi_value v, int32_t *out) {
  if (arg_int32(env, v, out, "family") < 0) return -1;
  if (*out != 4 && *out != 6) {
    napi_throw_error(env, "EINVAL", "family must be 4 or 6");
    return -1;
  }
  return 0;
}

int arg_optional_string(napi_env env, napi_value v, char *buf, size_t len, const char *name) {
  napi_valuetype t = napi_undefined;
  buf[0] = '\0';
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) return 0;
  return arg_string(env, v, buf, len, name) < 0 ? -1 : 1;
}

int arg_list(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "ENAPI", "N-API call failed: napi_get_cb_info");
    return -1;
  }
  if (argc < n) {
    napi_throw_error(env, "EINVAL", usage);
    return -1;
  }
  return 0;
}

static napi_value Init(napi_env env, napi_value exports) {
  init_packet_socket(env, exports);
  init_tcp_options(env, exports);
  init_netif(env, exports);
  init_udp_socket(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
