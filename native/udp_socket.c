/* A receive-only UDP socket that reports each datagram's IP TTL / IPv6 hop limit, for BFD's
 * GTSM check (RFC 5881 §5: single-hop packets must arrive with TTL 255; RFC 5883 §5: multihop
 * packets at least the configured minimum). Node's dgram has no way to read the TTL, and Linux
 * enforces IP_MINTTL / IPV6_MINHOPCOUNT only on TCP sockets (tcp_v4_rcv, tcp_v6_rcv): on a UDP
 * socket both options are accepted and ignored (checked on 6.18), so the TTL is read here with
 * IP_RECVTTL / IPV6_RECVHOPLIMIT ancillary data. Sending stays with Node's dgram.
 * Non-blocking and watched by uv_poll, like packet_socket.c. */
#include "common.h"
#include <uv.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* Datagrams drained per readiness callback, so a flood cannot starve the event loop. */
#define MAX_DATAGRAMS_PER_WAKEUP 64
/* A BFD Control packet is 24 octets (plus at most a 28-octet auth section); anything longer is
 * truncated here and rejected by the codec's length check in JS. */
#define MAX_DATAGRAM 512

typedef struct {
  uv_poll_t poll;
  int fd;
  int family;
  int closing;
  int uv_closed;
  int finalized;
  napi_env env;
  napi_ref on_packet;
  napi_async_context async_ctx;
} udp_socket_t;

static void on_closed(uv_handle_t *handle) {
  udp_socket_t *us = (udp_socket_t *)handle->data;
  us->uv_closed = 1;
  if (us->finalized) free(us);
}

static void close_socket(udp_socket_t *us) {
  if (us->closing) return;
  us->closing = 1;
  uv_poll_stop(&us->poll);
  if (us->on_packet) { napi_delete_reference(us->env, us->on_packet); us->on_packet = NULL; }
  if (us->async_ctx) { napi_async_destroy(us->env, us->async_ctx); us->async_ctx = NULL; }
  close(us->fd);
  us->fd = -1;
  uv_close((uv_handle_t *)&us->poll, on_closed);
}

/* onPacket(err, payload, srcAddress, srcPort, ttl); ttl is -1 when the kernel gave none. */
static void deliver(udp_socket_t *us, const unsigned char *data, size_t len, const char *src, int port, int ttl, int err) {
  napi_env env = us->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, args[5], result;
  if (napi_get_reference_value(env, us->on_packet, &cb) == napi_ok && cb != NULL) {
    napi_get_global(env, &recv);
    if (err) {
      napi_value code, msg;
      napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, code, msg, &args[0]);
      for (int i = 1; i < 5; i++) napi_get_null(env, &args[i]);
    } else {
      void *copy;
      napi_get_null(env, &args[0]);
      napi_create_buffer_copy(env, len, data, &copy, &args[1]);
      napi_create_string_utf8(env, src, NAPI_AUTO_LENGTH, &args[2]);
      napi_create_int32(env, port, &args[3]);
      napi_create_int32(env, ttl, &args[4]);
    }
    napi_make_callback(env, us->async_ctx, recv, cb, 5, args, &result);
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

static int ttl_of(struct msghdr *msg) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) || (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      return v;
    }
  }
  return -1;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  udp_socket_t *us = (udp_socket_t *)handle->data;
  static unsigned char buf[MAX_DATAGRAM];
  if (us->closing) return;
  if (status < 0) {
    /* A pending socket error (an ICMP error queued on the socket) raises POLLERR and stops the
     * watcher; read and clear it, report it, and keep watching. */
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(us->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    deliver(us, NULL, 0, NULL, 0, 0, soerr != 0 ? soerr : -status);
    if (!us->closing) uv_poll_start(&us->poll, UV_READABLE, on_readable);
    return;
  }
  if (!(events & UV_READABLE)) return;
  for (int i = 0; i < MAX_DATAGRAMS_PER_WAKEUP && !us->closing; i++) {
    struct sockaddr_storage from;
    char control[CMSG_SPACE(sizeof(int)) * 2];
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(us->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      deliver(us, NULL, 0, NULL, 0, 0, errno);
      return;
    }
    char src[INET6_ADDRSTRLEN];
    int port;
    if (from.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&from;
      inet_ntop(AF_INET6, &a->sin6_addr, src, sizeof src);
      port = ntohs(a->sin6_port);
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&from;
      inet_ntop(AF_INET, &a->sin_addr, src, sizeof src);
      port = ntohs(a->sin_port);
    }
    deliver(us, buf, (size_t)n, src, port, ttl_of(&msg), 0);
  }
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  udp_socket_t *us = (udp_socket_t *)data;
  close_socket(us);
  us->finalized = 1;
  if (us->uv_closed) free(us);
}

static udp_socket_t *unwrap(napi_env env, napi_value v) {
  udp_socket_t *us = NULL;
  if (napi_get_value_external(env, v, (void **)&us) != napi_ok || us == NULL) {
    napi_throw_type_error(env, "EINVAL", "not a UDP socket handle");
    return NULL;
  }
  if (us->closing) { napi_throw_error(env, "EBADF", "UDP socket is closed"); return NULL; }
  return us;
}

/* udpOpen(family: 4|6, address: string|null, port: number, onPacket) -> handle */
static napi_value UdpOpen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_msg(env, "EINVAL", "udpOpen(family, address, port, onPacket)");
  int32_t family, port;
  if (arg_int32(env, argv[0], &family, "family") < 0) return NULL;
  if (family != 4 && family != 6) return throw_msg(env, "EINVAL", "family must be 4 or 6");
  if (arg_int32(env, argv[2], &port, "port") < 0) return NULL;
  if (port < 0 || port > 65535) return throw_msg(env, "EINVAL", "port must be 0..65535");
  char addr[INET6_ADDRSTRLEN + 1] = "";
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t == napi_string && arg_string(env, argv[1], addr, sizeof addr, "address") < 0) return NULL;

  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    if (addr[0] && inet_pton(AF_INET, addr, &a->sin_addr) != 1) return throw_msg(env, "EINVAL", "address is not an IPv4 address");
    sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    a->sin6_addr = in6addr_any;
    if (addr[0] && inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) return throw_msg(env, "EINVAL", "address is not an IPv6 address");
    sl = sizeof *a;
  }

  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(SOCK_DGRAM)");
  int one = 1;
  if (family == 6) {
    /* IPv4 has its own socket: no v4-mapped addresses on this one. */
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one) < 0) {
      int e = errno; close(fd); return throw_errno(env, e, "setsockopt(IPV6_RECVHOPLIMIT)");
    }
  } else if (setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof one) < 0) {
    int e = errno; close(fd); return throw_errno(env, e, "setsockopt(IP_RECVTTL)");
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) { int e = errno; close(fd); return throw_errno(env, e, "bind(UDP)"); }

  udp_socket_t *us = calloc(1, sizeof *us);
  if (!us) { close(fd); return throw_errno(env, ENOMEM, "calloc"); }
  us->fd = fd;
  us->family = family;
  us->env = env;
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &us->poll, fd) != 0) { close(fd); free(us); return throw_msg(env, "EUV", "uv_poll_init failed"); }
  us->poll.data = us;
  napi_value resource_name;
  napi_create_string_utf8(env, "metallb:UdpTtlSocket", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &us->async_ctx);
  napi_create_reference(env, argv[3], 1, &us->on_packet);
  uv_poll_start(&us->poll, UV_READABLE, on_readable);
  napi_value handle;
  NAPI_CALL(env, napi_create_external(env, us, finalize_socket, NULL, &handle));
  return handle;
}

/* udpLocalPort(handle) -> the bound port (useful after binding port 0). */
static napi_value UdpLocalPort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_socket_t *us = unwrap(env, argv[0]);
  if (!us) return NULL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(us->fd, (struct sockaddr *)&ss, &sl) < 0) return throw_errno(env, errno, "getsockname");
  int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  napi_value out;
  napi_create_int32(env, port, &out);
  return out;
}

/* udpRef(handle, ref): an unref'd socket does not keep the event loop alive. */
static napi_value UdpRef(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_socket_t *us = unwrap(env, argv[0]);
  if (!us) return NULL;
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  if (ref) uv_ref((uv_handle_t *)&us->poll); else uv_unref((uv_handle_t *)&us->poll);
  return NULL;
}

static napi_value UdpClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_socket_t *us = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&us) == napi_ok && us != NULL) close_socket(us);
  return NULL;
}

void init_udp_socket(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "udpOpen", NULL, UdpOpen, NULL, NULL, NULL, napi_default, NULL },
    { "udpLocalPort", NULL, UdpLocalPort, NULL, NULL, NULL, napi_default, NULL },
    { "udpRef", NULL, UdpRef, NULL, NULL, NULL, napi_default, NULL },
    { "udpClose", NULL, UdpClose, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
