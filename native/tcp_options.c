/* TCP socket options Node's `net` cannot set before connect(): TCP_MD5SIG (RFC 2385, both
 * families) and the IP TTL / IPv6 hop limit (1 for single-hop eBGP, 255 for multihop). The socket
 * is created here with the options applied, then handed to `new net.Socket({ fd })`, whose
 * connect() reuses the fd, so the very first SYN already carries the MD5 option. */
#include "common.h"
#include "inet_addr.h"
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

static int set_md5(int fd, const char *peer, const char *key, size_t keylen) {
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  struct sockaddr_in *s4 = (struct sockaddr_in *)&sig.tcpm_addr;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sig.tcpm_addr;
  if (inet_pton(AF_INET, peer, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, peer, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
  } else {
    errno = EINVAL;
    return -1;
  }
  if (keylen > TCP_MD5SIG_MAXKEYLEN) { errno = EINVAL; return -1; }
  sig.tcpm_keylen = (unsigned short)keylen; /* 0 removes the key for this peer */
  memcpy(sig.tcpm_key, key, keylen);
  return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig);
}

static int set_ttl(int fd, int family, int ttl) {
  if (family == 6) return setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
}

/* createTcpSocket(family: 4|6, localAddress: string|null, ttl: number (0 = kernel default),
 *                 md5: Array<[peer, key]>) -> fd */
static napi_value CreateTcpSocket(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (arg_list(env, info, 4, argv, "createTcpSocket(family, localAddress, ttl, md5)") < 0) return NULL;
  int32_t family, ttl;
  char local[INET6_ADDRSTRLEN + 1];
  int has_local;
  if (arg_family(env, argv[0], &family) < 0 || (has_local = arg_optional_string(env, argv[1], local, sizeof local, "localAddress")) < 0 ||
      arg_int32_range(env, argv[2], &ttl, "ttl", 0, 255) < 0) return NULL;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (has_local && (local[0] == '\0' || inet_sockaddr(family, local, 0, &ss, &sl) < 0))
    return throw_msg(env, "EINVAL", family == 4 ? "localAddress is not an IPv4 address" : "localAddress is not an IPv6 address");

  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(SOCK_STREAM)");
  if (has_local && bind(fd, (struct sockaddr *)&ss, sl) < 0) { int e = errno; close(fd); return throw_errno(env, e, "bind(localAddress)"); }
  if (ttl > 0 && set_ttl(fd, family, ttl) < 0) { int e = errno; close(fd); return throw_errno(env, e, "setsockopt(TTL)"); }

  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, argv[3], &is_array) != napi_ok || !is_array) { close(fd); return throw_msg(env, "EINVAL", "md5 must be an array of [peer, key] pairs"); }
  napi_get_array_length(env, argv[3], &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value pair = NULL, pv = NULL, kv = NULL;
    bool pair_is_array = false;
    char peer[INET6_ADDRSTRLEN + 1], key[TCP_MD5SIG_MAXKEYLEN + 2];
    size_t keylen = 0;
    /* Every step checked: an unset napi_value handed to the next call is a crash, not an error. */
    if (napi_get_element(env, argv[3], i, &pair) != napi_ok || napi_is_array(env, pair, &pair_is_array) != napi_ok || !pair_is_array ||
        napi_get_element(env, pair, 0, &pv) != napi_ok || napi_get_element(env, pair, 1, &kv) != napi_ok) {
      close(fd);
      return throw_msg(env, "EINVAL", "md5 entries must be [peer, key] pairs");
    }
    if (arg_string(env, pv, peer, sizeof peer, "md5 peer") < 0) { close(fd); return NULL; }
    if (arg_string(env, kv, key, sizeof key, "md5 key (at most 80 bytes)") < 0) { close(fd); return NULL; }
    keylen = strlen(key);
    if (set_md5(fd, peer, key, keylen) < 0) { int e = errno; close(fd); return throw_errno(env, e, "setsockopt(TCP_MD5SIG)"); }
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

/* setTcpMd5(fd, peer, key): key '' removes it. */
static napi_value SetTcpMd5(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  char peer[INET6_ADDRSTRLEN + 1], key[TCP_MD5SIG_MAXKEYLEN + 2];
  size_t keylen = 0;
  if (arg_int32(env, argv[0], &fd, "fd") < 0) return NULL;
  if (arg_string(env, argv[1], peer, sizeof peer, "peer") < 0) return NULL;
  if (arg_string(env, argv[2], key, sizeof key, "key (at most 80 bytes)") < 0) return NULL;
  keylen = strlen(key);
  if (set_md5(fd, peer, key, keylen) < 0) return throw_errno(env, errno, "setsockopt(TCP_MD5SIG)");
  return NULL;
}

/* setIpTtl(fd, family, ttl) */
static napi_value SetIpTtl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, family, ttl;
  if (arg_int32(env, argv[0], &fd, "fd") < 0 || arg_int32(env, argv[1], &family, "family") < 0 ||
      arg_int32_range(env, argv[2], &ttl, "ttl", 1, 255) < 0) return NULL;
  if (set_ttl(fd, family, ttl) < 0) return throw_errno(env, errno, "setsockopt(TTL)");
  return NULL;
}

void init_tcp_options(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "createTcpSocket", NULL, CreateTcpSocket, NULL, NULL, NULL, napi_default, NULL },
    { "setTcpMd5", NULL, SetTcpMd5, NULL, NULL, NULL, napi_default, NULL },
    { "setIpTtl", NULL, SetIpTtl, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
