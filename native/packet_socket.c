/* AF_PACKET raw sockets for ARP and NDP (docs/l2.md): bound to one interface, non-blocking, watched by
 * uv_poll (polled_socket.c). A classic BPF filter keeps everything but ARP
 * and ICMPv6 NS/NA in the kernel. */
#include "polled_socket.h"
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <linux/filter.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* Frames drained per readiness callback: bounded so a flood cannot starve timers and the API
 * watch on the same event loop; the rest is read on the next loop turn. */
#define MAX_FRAMES_PER_WAKEUP 128
#define MAX_FRAME 65536

/* How handles and errors name this socket. */
#define PACKET_SOCKET "packet socket"

typedef struct {
  const unsigned char *frame;
  size_t len;
  int pkttype;
} frame_t;

/* ARP (any opcode: replies and GARPs feed conflict detection and probes) and ICMPv6 types 135/136.
 * Offsets: ethertype at 12; IPv6 next header at 14+6=20; ICMPv6 type at 14+40=54. An NS/NA with
 * IPv6 extension headers is not matched: RFC 4861 ND messages are sent without them in practice. */
static struct sock_filter arp_ns_filter[] = {
  BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 7, 0),   /* -> accept */
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 5),  /* else -> reject */
  BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 58, 0, 3),          /* IPPROTO_ICMPV6, else -> reject */
  BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54),
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, 2, 0),         /* neighbour solicitation -> accept */
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 136, 1, 0),         /* neighbour advertisement -> accept */
  BPF_STMT(BPF_RET | BPF_K, 0),                           /* reject */
  BPF_STMT(BPF_RET | BPF_K, MAX_FRAME),                   /* accept */
};

/* onFrame(err, frame, pktType) */
static void fill_frame(napi_env env, napi_value *args, const void *ctx) {
  const frame_t *f = (const frame_t *)ctx;
  void *data;
  napi_create_buffer_copy(env, f->len, f->frame, &data, &args[1]);
  napi_create_int32(env, f->pkttype, &args[2]);
}

static void deliver_error(polled_socket_t *ps, int err) { polled_socket_deliver(ps, err, 3, fill_frame, NULL); }

static void on_readable(uv_poll_t *handle, int status, int events) {
  polled_socket_t *ps = (polled_socket_t *)handle->data;
  static unsigned char buf[MAX_FRAME];
  if (ps->closing) return;
  if (status < 0) {
    /* On POLLERR libuv stops the watcher and reports UV_EBADF. For a packet socket POLLERR means
     * a pending socket error, ENETDOWN when the interface went down: the socket works again once
     * the link is back, but a stopped watcher never read another frame (an interface flap between
     * two rescans left the node deaf). Read the error, which clears it, report it, watch again. */
    int soerr = polled_socket_error(ps);
    if (soerr != 0) {
      deliver_error(ps, soerr);
      if (!ps->closing) uv_poll_start(&ps->poll, UV_READABLE, on_readable);
      return;
    }
    deliver_error(ps, -status);
    return;
  }
  if (!(events & UV_READABLE)) return;
  for (int i = 0; i < MAX_FRAMES_PER_WAKEUP && !ps->closing; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(ps->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      deliver_error(ps, errno);
      return;
    }
    frame_t f = { .frame = buf, .len = (size_t)n, .pkttype = from.sll_pkttype };
    polled_socket_deliver(ps, 0, 3, fill_frame, &f);
  }
}

/* packetOpen(ifindex: number, filter: 'arp-ns' | 'all', onFrame(err, frame, pktType)) -> handle */
static napi_value PacketOpen(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (arg_list(env, info, 3, argv, "packetOpen(ifindex, filter, onFrame)") < 0) return NULL;
  int32_t ifindex;
  char filter[16];
  if (arg_int32(env, argv[0], &ifindex, "ifindex") < 0) return NULL;
  if (arg_string(env, argv[1], filter, sizeof filter, "filter") < 0) return NULL;

  /* Protocol 0: the socket receives nothing until bind() names the protocol and the interface.
   * Opened with ETH_P_ALL it would queue frames of every interface until the bind, and those were
   * delivered as if they had arrived on this one. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_PACKET)");
  if (strcmp(filter, "arp-ns") == 0) {
    struct sock_fprog prog = { .len = sizeof arp_ns_filter / sizeof arp_ns_filter[0], .filter = arp_ns_filter };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) {
      int e = errno; close(fd); return throw_errno(env, e, "setsockopt(SO_ATTACH_FILTER)");
    }
  } else if (strcmp(filter, "all") != 0) {
    close(fd);
    return throw_msg(env, "EINVAL", "filter must be 'arp-ns' or 'all'");
  }
  /* A deep receive queue rides out a stalled event loop without dropping ARP requests.
   * SO_RCVBUFFORCE (CAP_NET_ADMIN) lifts the rmem_max cap; with NET_RAW only, SO_RCVBUF gets
   * as close as the host allows. */
  int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  /* Our own transmissions would loop back to us as PACKET_OUTGOING; drop them in the kernel. */
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int e = errno; close(fd); return throw_errno(env, e, "bind(AF_PACKET)");
  }

  return polled_socket_open(env, fd, "metallb:PacketSocket", argv[2], on_readable);
}

/* packetSend(handle, frame: Buffer) -> bytes written; EAGAIN etc. thrown with the errno name. */
static napi_value PacketSend(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  polled_socket_t *ps = polled_socket_args(env, info, 2, argv, PACKET_SOCKET);
  if (!ps) return NULL;
  void *data; size_t len;
  if (arg_buffer(env, argv[1], &data, &len, "frame") < 0) return NULL;
  ssize_t n = send(ps->fd, data, len, MSG_DONTWAIT);
  if (n < 0) return throw_errno(env, errno, "send(AF_PACKET)");
  napi_value out;
  napi_create_int32(env, (int32_t)n, &out);
  return out;
}

static napi_value membership(napi_env env, napi_callback_info info, int add) {
  napi_value argv[3];
  polled_socket_t *ps = polled_socket_args(env, info, 3, argv, PACKET_SOCKET);
  if (!ps) return NULL;
  int32_t ifindex;
  if (arg_int32(env, argv[1], &ifindex, "ifindex") < 0) return NULL;
  void *mac; size_t len;
  if (arg_buffer(env, argv[2], &mac, &len, "mac") < 0) return NULL;
  if (len != 6) return throw_msg(env, "EINVAL", "mac must be 6 bytes");
  struct packet_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  mreq.mr_ifindex = ifindex;
  mreq.mr_type = PACKET_MR_MULTICAST;
  mreq.mr_alen = 6;
  memcpy(mreq.mr_address, mac, 6);
  if (setsockopt(ps->fd, SOL_PACKET, add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mreq, sizeof mreq) < 0)
    return throw_errno(env, errno, add ? "PACKET_ADD_MEMBERSHIP" : "PACKET_DROP_MEMBERSHIP");
  return NULL;
}

static napi_value PacketAddMembership(napi_env env, napi_callback_info info) { return membership(env, info, 1); }
static napi_value PacketDropMembership(napi_env env, napi_callback_info info) { return membership(env, info, 0); }

void init_packet_socket(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "packetOpen", NULL, PacketOpen, NULL, NULL, NULL, napi_default, NULL },
    { "packetSend", NULL, PacketSend, NULL, NULL, NULL, napi_default, NULL },
    { "packetAddMembership", NULL, PacketAddMembership, NULL, NULL, NULL, napi_default, NULL },
    { "packetDropMembership", NULL, PacketDropMembership, NULL, NULL, NULL, napi_default, NULL },
    { "packetRef", NULL, polled_socket_ref, NULL, NULL, NULL, napi_default, (void *)PACKET_SOCKET },
    { "packetClose", NULL, polled_socket_close, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
