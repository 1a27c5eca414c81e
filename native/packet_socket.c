/* AF_PACKET raw sockets for ARP and NDP (docs/l2.md): bound to one interface, non-blocking, watched by
 * uv_poll so no libuv threadpool thread ever blocks in read() (a blocking read made process.exit()
 * hang in the lab, see docs/architecture.md §9.10). A classic BPF filter keeps everything but ARP
 * and ICMPv6 NS/NA in the kernel. */
#include "common.h"
#include <uv.h>
#include <stdlib.h>
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

typedef struct {
  uv_poll_t poll;
  int fd;
  int closing;
  /* The struct is freed only when both the uv handle has closed and the JS handle was collected,
   * so a JS call on a closed socket sees `closing` rather than freed memory. */
  int uv_closed;
  int finalized;
  napi_env env;
  napi_ref on_frame;
  napi_async_context async_ctx;
} packet_socket_t;

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

static void on_closed(uv_handle_t *handle) {
  packet_socket_t *ps = (packet_socket_t *)handle->data;
  ps->uv_closed = 1;
  if (ps->finalized) free(ps);
}

static void close_socket(packet_socket_t *ps) {
  if (ps->closing) return;
  ps->closing = 1;
  uv_poll_stop(&ps->poll);
  if (ps->on_frame) {
    napi_delete_reference(ps->env, ps->on_frame);
    ps->on_frame = NULL;
  }
  if (ps->async_ctx) {
    napi_async_destroy(ps->env, ps->async_ctx);
    ps->async_ctx = NULL;
  }
  close(ps->fd);
  ps->fd = -1;
  uv_close((uv_handle_t *)&ps->poll, on_closed);
}

static void deliver(packet_socket_t *ps, const unsigned char *frame, size_t len, int pkttype, int err) {
  napi_env env = ps->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, args[3], result;
  if (napi_get_reference_value(env, ps->on_frame, &cb) == napi_ok && cb != NULL) {
    /* make_callback converts the receiver with ToObject: undefined would throw a TypeError
     * before the callback runs, so pass the global object. */
    napi_get_global(env, &recv);
    if (err) {
      napi_value code, msg;
      napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
      napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, code, msg, &args[0]);
      napi_get_null(env, &args[1]);
      napi_get_null(env, &args[2]);
    } else {
      void *data;
      napi_get_null(env, &args[0]);
      napi_create_buffer_copy(env, len, frame, &data, &args[1]);
      napi_create_int32(env, pkttype, &args[2]);
    }
    /* make_callback runs microtasks and async hooks like any libuv-driven JS callback. */
    napi_make_callback(env, ps->async_ctx, recv, cb, 3, args, &result);
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

static void on_readable(uv_poll_t *handle, int status, int events) {
  packet_socket_t *ps = (packet_socket_t *)handle->data;
  static unsigned char buf[MAX_FRAME];
  if (ps->closing) return;
  if (status < 0) {
    /* On POLLERR libuv stops the watcher and reports UV_EBADF. For a packet socket POLLERR means
     * a pending socket error, ENETDOWN when the interface went down: the socket works again once
     * the link is back, but a stopped watcher never read another frame (an interface flap between
     * two rescans left the node deaf). Read the error, which clears it, report it, watch again. */
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(ps->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0) {
      deliver(ps, NULL, 0, 0, soerr);
      if (!ps->closing) uv_poll_start(&ps->poll, UV_READABLE, on_readable);
      return;
    }
    deliver(ps, NULL, 0, 0, -status);
    return;
  }
  if (!(events & UV_READABLE)) return;
  for (int i = 0; i < MAX_FRAMES_PER_WAKEUP && !ps->closing; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(ps->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      deliver(ps, NULL, 0, 0, errno);
      return;
    }
    deliver(ps, buf, (size_t)n, from.sll_pkttype, 0);
  }
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  packet_socket_t *ps = (packet_socket_t *)data;
  close_socket(ps);
  ps->finalized = 1;
  if (ps->uv_closed) free(ps);
}

static packet_socket_t *unwrap(napi_env env, napi_value v) {
  packet_socket_t *ps = NULL;
  if (napi_get_value_external(env, v, (void **)&ps) != napi_ok || ps == NULL) {
    napi_throw_type_error(env, "EINVAL", "not a packet socket handle");
    return NULL;
  }
  if (ps->closing) {
    napi_throw_error(env, "EBADF", "packet socket is closed");
    return NULL;
  }
  return ps;
}

/* packetOpen(ifindex: number, filter: 'arp-ns' | 'all', onFrame(err, frame, pktType)) -> handle */
static napi_value PacketOpen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_msg(env, "EINVAL", "packetOpen(ifindex, filter, onFrame)");
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

  packet_socket_t *ps = calloc(1, sizeof *ps);
  if (!ps) { close(fd); return throw_errno(env, ENOMEM, "calloc"); }
  ps->fd = fd;
  ps->env = env;
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &ps->poll, fd) != 0) { close(fd); free(ps); return throw_msg(env, "EUV", "uv_poll_init failed"); }
  ps->poll.data = ps;
  napi_value resource_name;
  napi_create_string_utf8(env, "metallb:PacketSocket", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &ps->async_ctx);
  napi_create_reference(env, argv[2], 1, &ps->on_frame);
  uv_poll_start(&ps->poll, UV_READABLE, on_readable);

  napi_value handle;
  NAPI_CALL(env, napi_create_external(env, ps, finalize_socket, NULL, &handle));
  return handle;
}

/* packetSend(handle, frame: Buffer) -> bytes written; EAGAIN etc. thrown with the errno name. */
static napi_value PacketSend(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket_t *ps = unwrap(env, argv[0]);
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
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket_t *ps = unwrap(env, argv[0]);
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

/* packetRef(handle, ref: boolean): an unref'd socket does not keep the event loop alive. */
static napi_value PacketRef(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket_t *ps = unwrap(env, argv[0]);
  if (!ps) return NULL;
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  if (ref) uv_ref((uv_handle_t *)&ps->poll); else uv_unref((uv_handle_t *)&ps->poll);
  return NULL;
}

static napi_value PacketClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  packet_socket_t *ps = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&ps) == napi_ok && ps != NULL) close_socket(ps);
  return NULL;
}

void init_packet_socket(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "packetOpen", NULL, PacketOpen, NULL, NULL, NULL, napi_default, NULL },
    { "packetSend", NULL, PacketSend, NULL, NULL, NULL, napi_default, NULL },
    { "packetAddMembership", NULL, PacketAddMembership, NULL, NULL, NULL, napi_default, NULL },
    { "packetDropMembership", NULL, PacketDropMembership, NULL, NULL, NULL, napi_default, NULL },
    { "packetRef", NULL, PacketRef, NULL, NULL, NULL, napi_default, NULL },
    { "packetClose", NULL, PacketClose, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
