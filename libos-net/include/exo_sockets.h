/* The sockets C ABI of exo's network library OS (libos-net/runtime/SocketsC.swift).
 * BSD calls by descriptor over the env's own TCP/IP stack. Every call but
 * exo_poll blocks the calling libOS thread as its BSD namesake does (other
 * threads of the env run meanwhile). Results: >= 0, or a negative errno
 * (Linux numbering: -EBADF -9, -EAGAIN -11, -EINVAL -22, -EMFILE -24,
 * -EMSGSIZE -90, -EADDRINUSE -98, -ENETDOWN -100, -ENETUNREACH -101,
 * -ECONNRESET -104, -ENOBUFS -105, -EISCONN -106, -ENOTCONN -107,
 * -ETIMEDOUT -110, -ECONNREFUSED -111). IPv4 addresses and ports are in
 * host byte order. The network must be started (Net.start) first. */
#ifndef EXO_SOCKETS_H
#define EXO_SOCKETS_H

#include <stddef.h>
#include <stdint.h>

#define EXO_SOCK_STREAM 1 /* TCP */
#define EXO_SOCK_DGRAM 2  /* UDP */

#define EXO_POLLIN 1
#define EXO_POLLOUT 4
#define EXO_POLLERR 8
#define EXO_POLLHUP 16
#define EXO_POLLNVAL 32

struct exo_pollfd {
  int32_t fd;
  int16_t events;
  int16_t revents;
};

int32_t exo_socket(int32_t type);
int32_t exo_bind(int32_t fd, uint16_t port);
int32_t exo_listen(int32_t fd, int32_t backlog);
int32_t exo_accept(int32_t fd, uint32_t *address, uint16_t *port);
int32_t exo_connect(int32_t fd, uint32_t address, uint16_t port);
long exo_send(int32_t fd, const void *bytes, long length);
long exo_recv(int32_t fd, void *bytes, long length);
long exo_sendto(int32_t fd, const void *bytes, long length, uint32_t address, uint16_t port);
long exo_recvfrom(int32_t fd, void *bytes, long length, uint32_t *address, uint16_t *port);
int32_t exo_close(int32_t fd);
/* timeout in microseconds: 0 only looks, negative waits without limit. */
int32_t exo_poll(struct exo_pollfd *entries, int32_t count, int64_t timeout);

#endif
