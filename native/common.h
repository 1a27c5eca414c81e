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
