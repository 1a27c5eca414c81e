/* A receive-only UDP socket that reports each datagram's IP TTL / IPv6 hop limit, for BFD's
 * GTSM check (RFC 5881 §5: single-hop packets must arrive with TTL 255; RFC 5883 §5: multihop
 * packets at least the configured minimum). Node's dgram has no way to read the TTL, and Linux
 * enforces IP_MINTTL / IPV6_MINHOPCOUNT only on TCP sockets (tcp_v4_rcv, tcp_v6_rcv): on a UDP
 * socket both options are accepted and ignored (checked on 6.18), so the TTL is read here with
 * IP_RECVTTL / IPV6_RECVHOPLIMIT ancillary data. Sending stays with Node's dgram.
 * Non-blocking and watched by uv_poll, like packet_socket.c. */
#include "polled_socket.h"
#include "inet_addr.h"
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
/* How handles and errors name this socket. */
#define UDP_SOCKET "UDP socket"

typedef struct {
  const unsigned char *data;
  size_t len;
  const char *src;
  int port;
  int ttl;
} datagram_t;

/* onPacket(err, payload, srcAddress, srcPort, ttl); ttl is -1 when the kernel gave none. */
static void fill_datagram(napi_env env, napi_value *args, const void *ctx) {
  const datagram_t *d = (const datagram_t *)ctx;
  void *copy;
  napi_create_buffer_copy(env, d->len, d->data, &copy, &args[1]);
  napi_create_string_utf8(env, d->src, NAPI_AUTO_LENGTH, &args[2]);
  napi_create_int32(env, d->port, &args[3]);
  napi_create_int32(env, d->ttl, &args[4]);
}

static void deliver_error(polled_socket_t *us, int err) { polled_socket_deliver(us, err, 5, fill_datagram, NULL); }

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
  polled_socket_t *us = (polled_socket_t *)handle->data;
  static unsigned char buf[MAX_DATAGRAM];
  if (us->closing) return;
  if (status < 0) {
    /* A pending socket error (an ICMP error queued on the socket) raises POLLERR and stops the
     * watcher; read and clear it, report it, and keep watching. */
    int soerr = polled_socket_error(us);
    deliver_error(us, soerr != 0 ? soerr : -status);
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
      deliver_error(us, errno);
      return;
    }
    char src[INET6_ADDRSTRLEN];
    datagram_t d = { .data = buf, .len = (size_t)n, .src = src, .ttl = ttl_of(&msg) };
    d.port = inet_sockaddr_text(&from, src, sizeof src);
    polled_socket_deliver(us, 0, 5, fill_datagram, &d);
  }
}

/* udpOpen(family: 4|6, address: string|null, port: number, onPacket) -> handle */
static napi_value UdpOpen(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (arg_list(env, info, 4, argv, "udpOpen(family, address, port, onPacket)") < 0) return NULL;
  int32_t family, port;
  char addr[INET6_ADDRSTRLEN + 1];
  if (arg_family(env, argv[0], &family) < 0 || arg_optional_string(env, argv[1], addr, sizeof addr, "address") < 0 ||
      arg_int32_range(env, argv[2], &port, "port", 0, 65535) < 0) return NULL;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (inet_sockaddr(family, addr, port, &ss, &sl) < 0)
    return throw_msg(env, "EINVAL", family == 4 ? "address is not an IPv4 address" : "address is not an IPv6 address");

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

  return polled_socket_open(env, fd, "metallb:UdpTtlSocket", argv[3], on_readable);
}

/* udpLocalPort(handle) -> the bound port (useful after binding port 0). */
static napi_value UdpLocalPort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  polled_socket_t *us = polled_socket_args(env, info, 1, argv, UDP_SOCKET);
  if (!us) return NULL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(us->fd, (struct sockaddr *)&ss, &sl) < 0) return throw_errno(env, errno, "getsockname");
  char text[INET6_ADDRSTRLEN];
  int port = inet_sockaddr_text(&ss, text, sizeof text);
  napi_value out;
  napi_create_int32(env, port, &out);
  return out;
}

void init_udp_socket(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "udpOpen", NULL, UdpOpen, NULL, NULL, NULL, napi_default, NULL },
    { "udpLocalPort", NULL, UdpLocalPort, NULL, NULL, NULL, napi_default, NULL },
    { "udpRef", NULL, polled_socket_ref, NULL, NULL, NULL, napi_default, (void *)UDP_SOCKET },
    { "udpClose", NULL, polled_socket_close, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
