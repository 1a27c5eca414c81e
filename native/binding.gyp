{
  "targets": [
    {
      "target_name": "metallb_native",
      "sources": ["addon.c", "packet_socket.c", "tcp_options.c", "netif.c", "udp_socket.c", "polled_socket.c", "inet_addr.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-O2"]
    }
  ]
}
