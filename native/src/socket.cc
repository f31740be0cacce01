// createSocket(opts) -> fd: one socket with the options a VRF-bound DNS server needs, in the
// order the kernel needs them, handed to Node to adopt (dgram bind({fd}), server.listen({fd}),
// new net.Socket({fd})). closeFd(fd) releases one that Node did not adopt. Upstream UDP
// sockets are made elsewhere (udp_exchange.cc): Node never adopts them.
//
// Order: socket(SOCK_NONBLOCK|SOCK_CLOEXEC) -> SO_BINDTODEVICE -> SO_REUSEADDR / IPV6_V6ONLY
// -> bind() -> listen(). The device comes before bind() because addresses that
// exist only inside a VRF are found (and ports are checked for conflicts) in the device's
// table: binding first fails with EADDRNOTAVAIL, or collides with another VRF's socket.
//
// Every failure closes the fd it made, so a caller never has to clean up after a throw.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <optional>
#include <string>

#include "addon.h"

namespace vrf {
namespace {

struct Options {
  int family = 0;  // AF_INET or AF_INET6
  bool stream = false;
  std::optional<std::string> device;
  std::optional<std::string> address;
  int port = 0;
  bool reuseAddr = false;
  bool reusePort = false;
  bool v6Only = false;
  std::optional<int> backlog;
};

[[noreturn]] void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, "createSocket: " + message);
}

// undefined and null both mean "not given".
bool Given(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

bool GetBool(Napi::Env env, const Napi::Object& o, const char* key) {
  if (!Given(o, key)) return false;
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) ThrowType(env, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

int GetInt(Napi::Env env, const Napi::Object& o, const char* key, int min, int max) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d) || d != std::floor(d) || d < min || d > max) {
    ThrowType(env, std::string(key) + " must be an integer from " + std::to_string(min) +
                       " to " + std::to_string(max));
  }
  return static_cast<int>(d);
}

// Validates everything before any fd exists: a TypeError never leaks a descriptor.
Options Parse(Napi::Env env, const Napi::Value& arg) {
  if (!arg.IsObject()) ThrowType(env, "options must be an object");
  Napi::Object o = arg.As<Napi::Object>();
  Options opts;

  Napi::Value family = o.Get("family");
  if (family.IsNumber() && family.As<Napi::Number>().DoubleValue() == 4) opts.family = AF_INET;
  else if (family.IsNumber() && family.As<Napi::Number>().DoubleValue() == 6) opts.family = AF_INET6;
  else ThrowType(env, "family must be 4 or 6");

  Napi::Value type = o.Get("type");
  std::string t = type.IsString() ? type.As<Napi::String>().Utf8Value() : "";
  if (t != "udp" && t != "tcp") ThrowType(env, "type must be 'udp' or 'tcp'");
  opts.stream = t == "tcp";

  if (Given(o, "device")) {
    Napi::Value v = o.Get("device");
    std::string dev = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    // IFNAMSIZ counts the terminating NUL. An empty name would *remove* a binding.
    if (dev.empty() || dev.size() >= IFNAMSIZ || dev.find('\0') != std::string::npos) {
      ThrowType(env, "device must be an interface name of 1 to " + std::to_string(IFNAMSIZ - 1) +
                         " characters");
    }
    opts.device = dev;
  }

  if (Given(o, "address")) {
    Napi::Value v = o.Get("address");
    if (!v.IsString()) ThrowType(env, "address must be a string");
    opts.address = v.As<Napi::String>().Utf8Value();
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(opts.family, opts.address->c_str(), buf) != 1) {
      ThrowType(env, "address \"" + *opts.address + "\" is not an IPv" +
                         (opts.family == AF_INET ? "4" : "6") + " address");
    }
  }
  if (Given(o, "port")) {
    if (!opts.address) ThrowType(env, "port needs an address to bind to");
    opts.port = GetInt(env, o, "port", 0, 65535);
  }

  opts.reuseAddr = GetBool(env, o, "reuseAddr");
  opts.reusePort = GetBool(env, o, "reusePort");
  opts.v6Only = GetBool(env, o, "v6Only");
  if (opts.v6Only && opts.family != AF_INET6) ThrowType(env, "v6Only needs family 6");

  if (Given(o, "backlog")) {
    if (!opts.stream) ThrowType(env, "backlog (listen) needs type 'tcp'");
    opts.backlog = GetInt(env, o, "backlog", 0, 65535);
  }
  return opts;
}

// Closes fd and throws the error of the call that failed (errno captured by the caller,
// before close() could overwrite it).
[[noreturn]] void Fail(Napi::Env env, int fd, int err, const char* syscall, ErrorContext ctx) {
  if (fd >= 0) close(fd);
  throw SystemError(env, err, syscall, ctx);
}

void SetInt(Napi::Env env, int fd, int level, int name, const char* label, const ErrorContext& base) {
  int one = 1;
  if (setsockopt(fd, level, name, &one, sizeof one) != 0) {
    int err = errno;
    ErrorContext ctx = base;
    ctx.option = label;
    Fail(env, fd, err, "setsockopt", ctx);
  }
}

Napi::Value CreateSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Options opts = Parse(env, info[0]);
  ErrorContext ctx;
  ctx.device = opts.device;
  ctx.stream = opts.stream;

  int fd = socket(opts.family, (opts.stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail(env, -1, errno, "socket", ctx);

  if (opts.device) {
    // man 7 socket, SO_BINDTODEVICE: only packets received from that interface are processed
    // and packets leave through it; for a VRF device, routes come from the VRF's table.
    // Kernel 5.7 (commit c427bfec18f2, "net: core: enable SO_BINDTODEVICE for non-root users")
    // lets an unprivileged process set it once on a socket not yet bound to a device; older
    // kernels need CAP_NET_RAW (EPERM).
    const std::string& dev = *opts.device;
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size() + 1) != 0) {
      int err = errno;
      ErrorContext c = ctx;
      c.option = "SO_BINDTODEVICE";
      Fail(env, fd, err, "setsockopt", c);
    }
  }
  if (opts.reuseAddr) SetInt(env, fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", ctx);
  // Workers= (src/app/workers.ts): every worker binds its own socket to the same device,
  // address and port, and the kernel spreads the clients over them (socket(7), SO_REUSEPORT:
  // set before bind() on every socket of the group, all of one effective UID).
  if (opts.reusePort) SetInt(env, fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", ctx);
  // IPV6_V6ONLY keeps [::]:53 from also claiming 0.0.0.0:53 through v4-mapped addresses, so
  // the IPv4 and IPv6 listeners are independent sockets.
  if (opts.v6Only) SetInt(env, fd, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", ctx);

  if (opts.address) {
    ctx.address = opts.address;
    ctx.port = opts.port;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (opts.family == AF_INET) {
      auto* sin = reinterpret_cast<struct sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(static_cast<uint16_t>(opts.port));
      inet_pton(AF_INET, opts.address->c_str(), &sin->sin_addr);  // validated in Parse
      len = sizeof *sin;
    } else {
      auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(static_cast<uint16_t>(opts.port));
      inet_pton(AF_INET6, opts.address->c_str(), &sin6->sin6_addr);
      len = sizeof *sin6;
    }
    if (bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) != 0) Fail(env, fd, errno, "bind", ctx);
  }

  if (opts.backlog && listen(fd, *opts.backlog) != 0) Fail(env, fd, errno, "listen", ctx);

  return Napi::Number::New(env, fd);
}

// For fds that never reached Node (or that Node refused to adopt). Throws on EBADF so a
// double close shows up in tests instead of silently closing someone else's descriptor.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArg(env, info[0], "closeFd");
  // Linux always releases the descriptor, even when close() reports EINTR: never retry.
  if (close(fd) != 0 && errno != EINTR) throw SystemError(env, errno, "close", {});
  return env.Undefined();
}

// A second descriptor of the same socket (F_DUPFD_CLOEXEC), for a worker thread that serves
// a socket passed by systemd: each thread owns and closes its own descriptor, so one closing
// never leaves another reading a number the kernel may have given to something else.
Napi::Value DupFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArg(env, info[0], "dupFd");
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw SystemError(env, errno, "fcntl", {});
  return Napi::Number::New(env, copy);
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("createSocket", Napi::Function::New(env, CreateSocket, "createSocket"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("dupFd", Napi::Function::New(env, DupFd, "dupFd"));
}

}  // namespace vrf
