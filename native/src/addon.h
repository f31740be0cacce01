// Shared declarations of the vrf_socket addon. Each .cc file does one job and exports its
// functions through an Init* function called from addon.cc.
#pragma once

#include <napi.h>

#include <cmath>

#include <optional>
#include <string>

namespace vrf {

// socket.cc: createSocket(opts) -> fd, closeFd(fd).
void InitSocket(Napi::Env env, Napi::Object exports);

// notify.cc: sdNotify(path, message), one datagram to $NOTIFY_SOCKET (sd_notify(3)).
void InitNotify(Napi::Env env, Napi::Object exports);

// listen_fd.cc: listenFdInfo(fd) -> { type, family, address, port, device, listening } of a
// socket passed by the service manager (LISTEN_FDS); sets FD_CLOEXEC on it.
void InitListenFd(Napi::Env env, Napi::Object exports);

// netlink.cc: netlinkOpen(onData) -> { dump(what), close() }, a NETLINK_ROUTE socket for link
// and address events, read on Node's event loop (parsing is src/net/netlink.ts).
void InitNetlink(Napi::Env env, Napi::Object exports);

// udp_batch.cc: udpServe(fd, onBatch) -> { data, lengths, addrs, sendLater(replies, addrs), close() },
// a UDP listener's socket read with recvmmsg and answered with sendmmsg, a batch per JS call.
void InitUdpBatch(Napi::Env env, Napi::Object exports);

// udp_exchange.cc: udpExchanger(device, onReplies) -> { peer(), open(), finish(), close(), ... }, the
// sockets of upstream UDP exchanges (one per query, random port), read in batches.
void InitUdpExchange(Napi::Env env, Napi::Object exports);

// info[0] as a file descriptor: a non-negative integer that fits an int, else a TypeError
// "<fn>: fd must be a non-negative integer".
inline int FdArg(Napi::Env env, const Napi::Value& v, const char* fn) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > 2147483647) {
    throw Napi::TypeError::New(env, std::string(fn) + ": fd must be a non-negative integer");
  }
  return static_cast<int>(d);
}

// Where a failed system call was aimed; every field is optional and copied onto the error.
struct ErrorContext {
  std::optional<std::string> device;
  std::optional<std::string> address;
  std::optional<int> port;
  std::optional<std::string> option;  // setsockopt option name, for the message only
  bool stream = false;                // TCP (ss -ltnp) rather than UDP (ss -lunp)
};

// system_error.cc: an Error shaped like Node's SystemError (code, errno < 0, syscall, ...)
// plus `hint`, a sentence a person can act on, which is also appended to the message.
Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const ErrorContext& ctx);

}  // namespace vrf
