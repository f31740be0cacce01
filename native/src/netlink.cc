// netlinkOpen(onData) -> { dump(what), close() }: a NETLINK_ROUTE socket subscribed to link and
// address changes (IPv4 and IPv6), read on Node's own event loop. A socket bound to a VRF with
// SO_BINDTODEVICE keeps the device's ifindex, so when the device is deleted and created again
// every socket of the instance is dead; the kernel tells us so here, without polling and
// without an `ip monitor` subprocess (which ignores -j anyway).
//
// The helper only moves bytes: it opens the socket, polls it with a uv_poll_t on the loop that
// runs JavaScript, reads whole datagrams and sends dump requests. Parsing and policy live in
// TypeScript (src/net/netlink.ts, src/net/device-watch.ts), where they are tested on recorded
// messages.
//
//   onData(null, [Buffer, ...])  once per wakeup: every datagram read, in kernel order (at most
//                                kMaxDatagramsPerWakeup, then the loop gets its turn back).
//   onData(err, [])              the kernel dropped events (err.code 'ENOBUFS', syscall 'recv':
//                                our receive queue overflowed) or a datagram was cut
//                                ('EMSGSIZE'): state must be re-read with a dump. Polling goes on.
//   dump('link' | 'addr')        asks for every link (RTM_GETLINK) or every address of both
//                                families (RTM_GETADDR); the replies arrive through onData and
//                                end with NLMSG_DONE. The kernel runs one dump at a time per
//                                socket (a second one gets EBUSY in an NLMSG_ERROR reply), so
//                                the caller waits for NLMSG_DONE before asking for the next.
//   close()                      idempotent. The JS object being garbage-collected closes too.
//
// Lifetime (polled_fd.h): the socket is closed by close(), by the garbage collector when the
// handle is dropped, or at environment teardown.

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "polled_fd.h"
namespace vrf {
namespace {

constexpr unsigned kGroups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
// Events are small (under 2 KiB) but come in bursts: a VRF with its slaves going down is
// dozens of messages at once. 1 MiB holds hundreds; past that the kernel reports ENOBUFS.
constexpr int kSocketBufferBytes = 1 << 20;
// A dump datagram is at most 32 KiB (netlink_dump() caps its allocation there); twice that
// leaves room, and MSG_TRUNC still tells us if a datagram was ever larger.
constexpr size_t kReadBufferBytes = 64 * 1024;
// Per wakeup: a flood of events must not keep JavaScript (DNS service) off the loop.
constexpr int kMaxDatagramsPerWakeup = 256;

class Watcher : public PolledFd {
 public:
  std::unique_ptr<unsigned char[]> buffer{new unsigned char[kReadBufferBytes]};
  uint32_t seq = 0;

  void Deliver(napi_value err, napi_value datagrams) { Call({err, datagrams}); }

  // Hands over what was read so far (nothing if the batch is empty).
  void Flush(std::vector<Napi::Value>& batch) {
    if (batch.empty()) return;
    Napi::Env e(env);
    Napi::Array array = Napi::Array::New(e, batch.size());
    for (size_t i = 0; i < batch.size(); i++) array.Set(static_cast<uint32_t>(i), batch[i]);
    batch.clear();
    Deliver(e.Null(), array);
  }

  void DeliverError(std::vector<Napi::Value>& batch, int err, const char* syscall) {
    Flush(batch);  // first what came before the error, so order is kept
    Napi::Env e(env);
    Deliver(SystemError(e, err, syscall, {}).Value(), Napi::Array::New(e, 0));
  }

 protected:
  void Readable(int status) override {
    std::vector<Napi::Value> batch;
    // libuv turns POLLERR into status UV_EBADF and stops the handle (uv__poll_io). POLLERR is
    // how the kernel signals a pending socket error, and netlink's ENOBUFS is one: recv() below
    // returns it (and clears it), then polling starts again.
    const bool stopped = status < 0;
    for (int i = 0; i < kMaxDatagramsPerWakeup && !closing; i++) {
      // MSG_TRUNC: the return value is the datagram's real length, even if it did not fit.
      ssize_t n = recv(fd, buffer.get(), kReadBufferBytes, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        // ENOBUFS is reported once, by this recv(); the datagrams still queued are readable
        // next, so keep reading. Any other error is as unexpected: report it, and let the next
        // wakeup (if the socket is still readable) go on.
        DeliverError(batch, err, "recv");
        if (err == ENOBUFS) continue;
        break;
      }
      if (static_cast<size_t>(n) > kReadBufferBytes) {
        DeliverError(batch, EMSGSIZE, "recv");  // a cut datagram is as good as lost
        continue;
      }
      batch.push_back(Napi::Buffer<unsigned char>::Copy(env, buffer.get(), static_cast<size_t>(n)));
    }
    Flush(batch);
    if (stopped && !closing) {
      int rc = Resume();
      if (rc != 0) DeliverError(batch, -rc, "uv_poll_start");
    }
  }
};

// Marks the objects netlinkOpen returns (PollUnwrap checks it).
constexpr napi_type_tag kHandleTag = {0x6e6c77617463685full, 0x7672662d7265736full};

Watcher* Unwrap(const Napi::CallbackInfo& info, const char* fn) {
  return static_cast<Watcher*>(PollUnwrap(info, &kHandleTag, "netlink", fn));
}

Napi::Value Dump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Watcher* w = Unwrap(info, "dump");
  std::string what = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (what != "link" && what != "addr") throw Napi::TypeError::New(env, "dump: what must be 'link' or 'addr'");
  if (w->closing) throw SystemError(env, EBADF, "sendto", {});

  // rtnetlink(7): the dump request is a header and the family message of the type asked
  // for, with AF_UNSPEC meaning every family.
  struct {
    struct nlmsghdr nh;
    union {
      struct ifinfomsg ifi;
      struct ifaddrmsg ifa;
    } body;
  } req;
  memset(&req, 0, sizeof req);
  const bool link = what == "link";
  req.nh.nlmsg_len = link ? NLMSG_LENGTH(sizeof req.body.ifi) : NLMSG_LENGTH(sizeof req.body.ifa);
  req.nh.nlmsg_type = link ? RTM_GETLINK : RTM_GETADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = ++w->seq;
  if (link) req.body.ifi.ifi_family = AF_UNSPEC;
  else req.body.ifa.ifa_family = AF_UNSPEC;

  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
  ssize_t sent;
  do {
    sent = sendto(w->fd, &req, req.nh.nlmsg_len, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw SystemError(env, errno, "sendto", {});
  return env.Undefined();
}

Napi::Value CloseMethod(const Napi::CallbackInfo& info) {
  PollClose(Unwrap(info, "close"));
  return info.Env().Undefined();
}

// The socket, bound to the groups, or a SystemError (and no fd) on failure.
int OpenSocket(Napi::Env env) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw SystemError(env, errno, "socket", {});
  // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN, which the resolver does
  // not have; SO_RCVBUF is capped at rmem_max. Either is only more room: a failure leaves the
  // default buffer, which works, so it is not an error.
  int size = kSocketBufferBytes;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = kGroups;  // nl_pid 0: the kernel assigns a unique port id
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) != 0) {
    int err = errno;
    close(fd);
    throw SystemError(env, err, "bind", {});
  }
  return fd;
}

Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "netlinkOpen: onData must be a function");
  auto* w = new Watcher();
  w->env = env;
  try {
    w->fd = OpenSocket(env);
  } catch (...) {
    PollAbandon(w);
    throw;
  }
  Napi::Object handle = Napi::Object::New(env);
  handle.DefineProperties({
      Napi::PropertyDescriptor::Function(env, handle, "dump", Dump),
      Napi::PropertyDescriptor::Function(env, handle, "close", CloseMethod),
  });
  PollStart(env, w, handle, info[0].As<Napi::Function>(), "vrf-resolver:netlink", &kHandleTag);
  return handle;
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen, "netlinkOpen"));
}

}  // namespace vrf
