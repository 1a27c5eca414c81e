/* Interface index, MAC and flags by name (SIOCGIF* ioctls), valid in whatever network namespace the
 * process runs in, unlike /sys/class/net, which shows the namespace that mounted it. */
#include "common.h"
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>

static napi_value describe(napi_env env, int sock, const char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t n = strlen(name);
  if (n >= IFNAMSIZ) return throw_msg(env, "EINVAL", "interface name longer than 15 bytes");
  memcpy(ifr.ifr_name, name, n);
  if (ioctl(sock, SIOCGIFINDEX, &ifr) < 0) return throw_errno(env, errno, "SIOCGIFINDEX");
  int index = ifr.ifr_ifindex;
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return throw_errno(env, errno, "SIOCGIFFLAGS");
  int flags = ifr.ifr_flags;
  if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0) return throw_errno(env, errno, "SIOCGIFHWADDR");
  napi_value obj, v, mac;
  void *macdata;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "name", v);
  napi_create_int32(env, index, &v);
  napi_set_named_property(env, obj, "index", v);
  napi_create_int32(env, flags, &v);
  napi_set_named_property(env, obj, "flags", v);
  napi_create_int32(env, ifr.ifr_hwaddr.sa_family, &v);
  napi_set_named_property(env, obj, "hwType", v);
  napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &macdata, &mac);
  napi_set_named_property(env, obj, "mac", mac);
  return obj;
}

/* interfaceInfo(name) -> { name, index, flags, hwType, mac } */
static napi_value InterfaceInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  if (arg_string(env, argv[0], name, sizeof name, "interface name") < 0) return NULL;
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throw_errno(env, errno, "socket(AF_INET)");
  napi_value out = describe(env, sock, name);
  close(sock);
  return out;
}

/* listInterfaces() -> names */
static napi_value ListInterfaces(napi_env env, napi_callback_info info) {
  (void)info;
  struct if_nameindex *list = if_nameindex();
  if (!list) return throw_errno(env, errno, "if_nameindex");
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  for (struct if_nameindex *p = list; p->if_index != 0; p++) {
    napi_value s;
    napi_create_string_utf8(env, p->if_name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, i++, s);
  }
  if_freenameindex(list);
  return arr;
}

void init_netif(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "interfaceInfo", NULL, InterfaceInfo, NULL, NULL, NULL, napi_default, NULL },
    { "listInterfaces", NULL, ListInterfaces, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
