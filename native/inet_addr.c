#include "inet_addr.h"
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

int inet_sockaddr(int family, const char *text, int port, struct sockaddr_storage *ss, socklen_t *sl) {
  memset(ss, 0, sizeof *ss);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    if (text[0] && inet_pton(AF_INET, text, &a->sin_addr) != 1) return -1;
    *sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    a->sin6_addr = in6addr_any;
    if (text[0] && inet_pton(AF_INET6, text, &a->sin6_addr) != 1) return -1;
    *sl = sizeof *a;
  }
  return 0;
}

int inet_sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t len) {
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)len);
    return ntohs(a->sin6_port);
  }
  const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
  inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)len);
  return ntohs(a->sin_port);
}
