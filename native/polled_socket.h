/* A non-blocking socket watched by uv_poll and delivered to a JS callback: the lifecycle shared by
 * the AF_PACKET sockets (packet_socket.c) and the TTL-reporting UDP sockets (udp_socket.c). */
#ifndef METALLB_NATIVE_POLLED_SOCKET_H
#define METALLB_NATIVE_POLLED_SOCKET_H

#include "common.h"
#include <uv.h>
#include <stddef.h>

typedef struct {
  uv_poll_t poll;
  int fd;
  int closing;
  /* The struct is freed only when both the uv handle has closed and the JS handle was collected,
   * so a JS call on a closed socket sees `closing` rather than freed memory. */
  int uv_closed;
  int finalized;
  napi_env env;
  napi_ref callback;
  napi_async_context async_ctx;
} polled_socket_t;

/* Most arguments a delivery passes to the JS callback. */
#define POLLED_MAX_ARGS 8

/* Fills args[1..argc-1] of a successful delivery; args[0] (the error) is already null. */
typedef void (*polled_fill_args)(napi_env env, napi_value *args, const void *ctx);

/* Wraps `fd` (closed on failure) into a JS handle that calls `callback` from `on_readable`.
 * Returns NULL after throwing. `resource` names the async resource for async hooks. */
napi_value polled_socket_open(napi_env env, int fd, const char *resource, napi_value callback, uv_poll_cb on_readable);

/* callback(err, ...): err an Error whose .code is the errno name when `err` != 0 (the other
 * arguments null), else null followed by what `fill` writes. */
void polled_socket_deliver(polled_socket_t *ps, int err, size_t argc, polled_fill_args fill, const void *ctx);

/* The pending socket error (SO_ERROR, which reading clears), 0 when there is none. */
int polled_socket_error(const polled_socket_t *ps);

/* The open socket behind a JS handle, or NULL after throwing; `what` names it in the message. */
polled_socket_t *polled_socket_unwrap(napi_env env, napi_value v, const char *what);

/* Fetches the call's first `n` arguments and the open socket argv[0] is a handle of, or NULL
 * after throwing; `what` names it in the message (NULL: the function's descriptor data). */
polled_socket_t *polled_socket_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *what);

/* JS functions shared by every polled socket; the descriptor's data is the socket's name.
 * ref(handle, ref: boolean): an unref'd socket does not keep the event loop alive.
 * close(handle): idempotent. */
napi_value polled_socket_ref(napi_env env, napi_callback_info info);
napi_value polled_socket_close(napi_env env, napi_callback_info info);

#endif
