// sdNotify(path, message): one datagram to the service manager's notification socket, the
// protocol of sd_notify(3). Node has no AF_UNIX datagram sockets, so the helper sends it.
//
// path is $NOTIFY_SOCKET as systemd sets it: a file system path ("/run/systemd/notify") or an
// abstract-namespace name written with a leading '@' ("@/org/freedesktop/systemd1/notify"),
// whose '@' becomes the NUL byte the kernel expects. The kernel attaches our credentials
// (SCM_CREDENTIALS) because the receiver sets SO_PASSCRED; systemd checks the PID against
// NotifyAccess=.
//
// One fresh SOCK_DGRAM|SOCK_CLOEXEC socket per message, closed on every path: messages are rare
// (start, reload, stop, a watchdog ping every few seconds), and nothing survives to leak into
// a child process.
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "addon.h"

namespace vrf {
namespace {

[[noreturn]] void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, "sdNotify: " + message);
}

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowType(env, "path must be a string");
  if (!info[1].IsString()) ThrowType(env, "message must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const std::string message = info[1].As<Napi::String>().Utf8Value();

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  // sun_path holds 108 bytes: a path needs its terminating NUL, an abstract name does not.
  const bool abstract = !path.empty() && path[0] == '@';
  const size_t room = abstract ? sizeof sa.sun_path : sizeof sa.sun_path - 1;
  if (path.size() < 2 || (path[0] != '/' && !abstract) || path.size() > room ||
      path.find('\0') != std::string::npos) {
    ThrowType(env, "path must be an absolute path or an abstract name starting with '@', of at most " +
                       std::to_string(room) + " bytes");
  }
  memcpy(sa.sun_path, path.data(), path.size());
  socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());
  if (abstract) sa.sun_path[0] = '\0';
  else len += 1;  // the terminating NUL, as sd_notify sends it

  ErrorContext ctx;
  ctx.address = path;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SystemError(env, errno, "socket", ctx);
  ssize_t sent;
  do {
    sent = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                  reinterpret_cast<const struct sockaddr*>(&sa), len);
  } while (sent < 0 && errno == EINTR);
  int err = sent < 0 ? errno : 0;
  close(fd);
  if (err != 0) throw SystemError(env, err, "sendto", ctx);
  // A datagram is sent whole or not at all; anything else would be a kernel surprise.
  if (static_cast<size_t>(sent) != message.size()) throw SystemError(env, EMSGSIZE, "sendto", ctx);
  return env.Undefined();
}

}  // namespace

void InitNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
}

}  // namespace vrf
