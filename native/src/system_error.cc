// Errors shaped like Node's SystemError, so callers treat a failure here exactly like a failed
// net.listen(): err.code === 'EADDRINUSE', err.errno === -98, err.syscall === 'bind'.
// Each errno we expect from socket setup also gets a hint that says what to do about it.
#include <errno.h>
#include <string.h>

#include <string>

#include "addon.h"

namespace vrf {
namespace {

// The errno names Node would report. strerrorname_np (glibc >= 2.32) covers the rest.
const char* ErrnoName(int err) {
  switch (err) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    default: break;
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) return name;
#endif
  return "UNKNOWN";
}

std::string Where(const ErrorContext& ctx) {
  std::string s;
  if (ctx.address) {
    bool v6 = ctx.address->find(':') != std::string::npos;
    s += v6 ? "[" + *ctx.address + "]" : *ctx.address;
    if (ctx.port) s += ":" + std::to_string(*ctx.port);
  }
  if (ctx.device) s += (s.empty() ? "device " : " on device ") + *ctx.device;
  return s;
}

// A sentence a person can act on, or "" when we have nothing better than the errno.
std::string Hint(int err, const std::string& syscall, const ErrorContext& ctx) {
  const std::string dev = ctx.device.value_or("DEVICE");
  if (err == ENODEV) {
    return "no such device \"" + dev + "\": create the VRF (ip link add " + dev +
           " type vrf table 1000 && ip link set " + dev + " up) or fix VRF=";
  }
  if (err == EADDRNOTAVAIL && ctx.address) {
    const std::string& a = *ctx.address;
    std::string prefix = a == "127.0.0.1" ? "/8" : (a.find(':') != std::string::npos ? "/128" : "/32");
    if (!ctx.device) {
      return "the address " + a + " is not configured on this host: fix the listen address or "
             "add it (ip addr add " + a + prefix + " dev IFACE)";
    }
    return "the address " + a + " is not on device " + dev + ": add it with ip addr add " + a +
           prefix + " dev " + dev;
  }
  if (err == EACCES && syscall == "bind") {
    return "ports below 1024 need CAP_NET_BIND_SERVICE: run as root, through the systemd unit "
           "(AmbientCapabilities=CAP_NET_BIND_SERVICE), or setcap cap_net_bind_service=+ep on "
           "the node binary";
  }
  if (err == EPERM && syscall == "setsockopt" && ctx.option && *ctx.option == "SO_BINDTODEVICE") {
    return "kernels before 5.7 need CAP_NET_RAW for SO_BINDTODEVICE: run as root or grant "
           "CAP_NET_RAW (AmbientCapabilities=CAP_NET_RAW in the unit)";
  }
  if (err == EADDRINUSE) {
    return std::string("another process already listens there on the same device: find it "
                       "with ") + (ctx.stream ? "ss -ltnp" : "ss -lunp");
  }
  if (err == EMFILE || err == ENFILE) {
    return "too many open files: raise LimitNOFILE= in the unit or ulimit -n";
  }
  return "";
}

}  // namespace

Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const ErrorContext& ctx) {
  const char* code = ErrnoName(err);
  std::string where = Where(ctx);
  std::string hint = Hint(err, syscall, ctx);
  // Node's own format is "<syscall> <CODE> <address>:<port>"; we add the option and the hint.
  std::string message = std::string(syscall) + " " + code;
  if (ctx.option) message += " (" + *ctx.option + ")";
  if (!where.empty()) message += " " + where;
  // The hint says more than strerror(); without one, strerror() is the best we have.
  message += ": " + (hint.empty() ? std::string(strerror(err)) : hint);

  Napi::Error e = Napi::Error::New(env, message);
  Napi::Object o = e.Value();
  o.Set("code", code);
  o.Set("errno", -err);  // Node reports errno as a negative number (libuv's convention)
  o.Set("syscall", syscall);
  if (ctx.device) o.Set("device", *ctx.device);
  if (ctx.address) o.Set("address", *ctx.address);
  if (ctx.port) o.Set("port", *ctx.port);
  if (!hint.empty()) o.Set("hint", hint);
  return e;
}

}  // namespace vrf
