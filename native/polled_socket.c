/* uv_poll lifecycle of the addon's receive sockets: no libuv threadpool thread ever blocks in
 * read() (a blocking read made process.exit() hang in the lab, see docs/architecture.md §9.10). */
#include "polled_socket.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

static void on_closed(uv_handle_t *handle) {
  polled_socket_t *ps = (polled_socket_t *)handle->data;
  ps->uv_closed = 1;
  if (ps->finalized) free(ps);
}

static void close_socket(polled_socket_t *ps) {
  if (ps->closing) return;
  ps->closing = 1;
  uv_poll_stop(&ps->poll);
  if (ps->callback) {
    napi_delete_reference(ps->env, ps->callback);
    ps->callback = NULL;
  }
  if (ps->async_ctx) {
    napi_async_destroy(ps->env, ps->async_ctx);
    ps->async_ctx = NULL;
  }
  close(ps->fd);
  ps->fd = -1;
  uv_close((uv_handle_t *)&ps->poll, on_closed);
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  polled_socket_t *ps = (polled_socket_t *)data;
  close_socket(ps);
  ps->finalized = 1;
  if (ps->uv_closed) free(ps);
}

napi_value polled_socket_open(napi_env env, int fd, const char *resource, napi_value callback, uv_poll_cb on_readable) {
  polled_socket_t *ps = calloc(1, sizeof *ps);
  if (!ps) { close(fd); return throw_errno(env, ENOMEM, "calloc"); }
  ps->fd = fd;
  ps->env = env;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &ps->poll, fd) != 0) {
    close(fd);
    free(ps);
    return throw_msg(env, "EUV", "uv_poll_init failed");
  }
  ps->poll.data = ps;
  napi_value resource_name;
  napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &ps->async_ctx);
  napi_create_reference(env, callback, 1, &ps->callback);
  uv_poll_start(&ps->poll, UV_READABLE, on_readable);
  napi_value handle;
  NAPI_CALL(env, napi_create_external(env, ps, finalize_socket, NULL, &handle));
  return handle;
}

void polled_socket_deliver(polled_socket_t *ps, int err, size_t argc, polled_fill_args fill, const void *ctx) {
  napi_env env = ps->env;
  napi_handle_scope scope;
  if (argc > POLLED_MAX_ARGS || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, args[POLLED_MAX_ARGS], result;
  if (napi_get_reference_value(env, ps->callback, &cb) == napi_ok && cb != NULL) {
    /* make_callback converts the receiver with ToObject: undefined would throw a TypeError
     * before the callback runs, so pass the global object. */
    napi_get_global(env, &recv);
    for (size_t i = 0; i < argc; i++) napi_get_null(env, &args[i]);
    if (err) {
      napi_value code, msg;
      napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, code, msg, &args[0]);
    } else {
      fill(env, args, ctx);
    }
    /* make_callback runs microtasks and async hooks like any libuv-driven JS callback. */
    napi_make_callback(env, ps->async_ctx, recv, cb, argc, args, &result);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
      napi_fatal_exception(env, ex);
    }
  }
  napi_close_handle_scope(env, scope);
}

int polled_socket_error(const polled_socket_t *ps) {
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (getsockopt(ps->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) return 0;
  return soerr;
}

polled_socket_t *polled_socket_unwrap(napi_env env, napi_value v, const char *what) {
  polled_socket_t *ps = NULL;
  char msg[64];
  if (napi_get_value_external(env, v, (void **)&ps) != napi_ok || ps == NULL) {
    snprintf(msg, sizeof msg, "not a %s handle", what);
    napi_throw_type_error(env, "EINVAL", msg);
    return NULL;
  }
  if (ps->closing) {
    snprintf(msg, sizeof msg, "%s is closed", what);
    napi_throw_error(env, "EBADF", msg);
    return NULL;
  }
  return ps;
}

polled_socket_t *polled_socket_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *what) {
  size_t argc = n;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) {
    napi_throw_error(env, "ENAPI", "N-API call failed: napi_get_cb_info");
    return NULL;
  }
  return polled_socket_unwrap(env, argv[0], what != NULL ? what : (const char *)data);
}

napi_value polled_socket_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  polled_socket_t *ps = polled_socket_args(env, info, 2, argv, NULL);
  if (!ps) return NULL;
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  if (ref) uv_ref((uv_handle_t *)&ps->poll); else uv_unref((uv_handle_t *)&ps->poll);
  return NULL;
}

napi_value polled_socket_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  polled_socket_t *ps = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&ps) == napi_ok && ps != NULL) close_socket(ps);
  return NULL;
}
