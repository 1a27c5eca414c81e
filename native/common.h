/* Shared helpers for the metallb-ts native addon: N-API error plumbing with errno names. */
#ifndef METALLB_NATIVE_COMMON_H
#define METALLB_NATIVE_COMMON_H

#include <node_api.h>
#include <errno.h>

/* Throw an Error whose .code is the errno name (EPERM, ENODEV, ...) and whose message says
 * which call failed; JS wraps it into MetalLbError(Native). Returns NULL for `return throw_errno(...)`. */
napi_value throw_errno(napi_env env, int err, const char *what);
napi_value throw_msg(napi_env env, const char *code, const char *msg);
const char *errno_name(int err);

/* Argument helpers: return 0 on success, -1 after throwing a TypeError. */
int arg_string(napi_env env, napi_value v, char *buf, size_t len, const char *name);
int arg_int32(napi_env env, napi_value v, int32_t *out, const char *name);
int arg_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *name);
/* An int32 within min..max ("ttl must be 1..255"). */
int arg_int32_range(napi_env env, napi_value v, int32_t *out, const char *name, int32_t min, int32_t max);
/* An address family: 4 or 6. */
int arg_family(napi_env env, napi_value v, int32_t *out);
/* A string or null/undefined: 1 when a string was copied into `buf`, 0 when absent (`buf` is then
 * ""), -1 after throwing. */
int arg_optional_string(napi_env env, napi_value v, char *buf, size_t len, const char *name);
/* The call's first `n` arguments into `argv`; fewer than `n` throws EINVAL naming `usage`. */
int arg_list(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage);

#define NAPI_CALL(env, call)                                                \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error((env), "ENAPI", "N-API call failed: " #call);       \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

void init_packet_socket(napi_env env, napi_value exports);
void init_tcp_options(napi_env env, napi_value exports);
void init_netif(napi_env env, napi_value exports);
void init_udp_socket(napi_env env, napi_value exports);

#endif
