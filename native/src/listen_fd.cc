// listenFdInfo(fd): what a socket handed over by the service manager (LISTEN_FDS, socket
// activation) is, so Node can adopt it the right way: dgram needs the family before it adopts
// an fd (a udp4 socket cannot send to an IPv6 client), and the device tells whether the socket
// unit bound it to the VRF this instance serves (BindToDevice=). Like sd_listen_fds(3), it
// also sets FD_CLOEXEC, so the descriptor never leaks into a child process.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <cmath>
#include <string>

#include "addon.h"

namespace vrf {
namespace {

int GetSockInt(Napi::Env env, int fd, int name, const char* label) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, name, &value, &len) != 0) {
    int err = errno;
    ErrorContext ctx;
    ctx.option = label;
    throw SystemError(env, err, "getsockopt", ctx);
  }
  return value;
}

Napi::Value ListenFdInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArg(env, info[0], "listenFdInfo");

  const int type = GetSockInt(env, fd, SO_TYPE, "SO_TYPE");  // EBADF, or ENOTSOCK for a file or pipe
  const int domain = GetSockInt(env, fd, SO_DOMAIN, "SO_DOMAIN");
  const bool listening = GetSockInt(env, fd, SO_ACCEPTCONN, "SO_ACCEPTCONN") != 0;

  char dev[IFNAMSIZ + 1];
  memset(dev, 0, sizeof dev);
  socklen_t devLen = IFNAMSIZ;
  if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &devLen) != 0) {
    int err = errno;
    ErrorContext ctx;
    ctx.option = "SO_BINDTODEVICE";
    throw SystemError(env, err, "getsockopt", ctx);
  }

  // Only once we know it is a socket: a wrong LISTEN_FDS must not change stdin or a file.
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) throw SystemError(env, errno, "fcntl", {});

  Napi::Object out = Napi::Object::New(env);
  out.Set("type", type == SOCK_DGRAM ? "udp" : type == SOCK_STREAM ? "tcp" : "other");
  out.Set("family", domain == AF_INET ? 4 : domain == AF_INET6 ? 6 : 0);
  out.Set("listening", listening);
  out.Set("device", devLen > 0 && dev[0] != '\0' ? Napi::Value(Napi::String::New(env, dev)) : env.Null());

  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) throw SystemError(env, errno, "getsockname", {});
  char text[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    out.Set("address", text);
    out.Set("port", ntohs(sin->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
    out.Set("address", text);
    out.Set("port", ntohs(sin6->sin6_port));
  } else {
    out.Set("address", env.Null());
    out.Set("port", env.Null());
  }
  return out;
}

}  // namespace

void InitListenFd(Napi::Env env, Napi::Object exports) {
  exports.Set("listenFdInfo", Napi::Function::New(env, ListenFdInfo, "listenFdInfo"));
}

}  // namespace vrf
