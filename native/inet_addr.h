/* IPv4 / IPv6 socket addresses from and to text, for the sockets the addon binds. */
#ifndef METALLB_NATIVE_INET_ADDR_H
#define METALLB_NATIVE_INET_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Fills `ss` and `sl` with `text` ("" = the any address) and `port` in family 4 or 6.
 * Returns 0, or -1 when `text` is not an address of that family. */
int inet_sockaddr(int family, const char *text, int port, struct sockaddr_storage *ss, socklen_t *sl);

/* Writes the address of an AF_INET / AF_INET6 `ss` as text into `buf` and returns its port. */
int inet_sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif
