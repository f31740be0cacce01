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
// Lifetime: the uv_poll_t must outlive uv_close() until its close callback, and the fd must
// stay open until then (libuv still watches it), so both are released in OnPollClosed. The C++
// state is freed once the poll handle is closed *and* the JS object no longer points at it
// (its finalizer ran), whichever comes last, so neither a late dump() nor a late libuv callback
// touches freed memory. At environment teardown (process exit, a Worker ending) an async
// cleanup hook closes the socket and Node waits for the close callback.
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

#include "addon.h"

// libuv: the poll handle that wakes us on Node's loop (CMakeLists.txt puts Node's include
// directory, which has uv.h, on the path).
#include <uv.h>
namespace vrf {
namespace {
constexpr uv_handle_type kUvPoll = UV_POLL;
constexpr int kUvReadable = UV_READABLE;
}  // namespace
}  // namespace vrf

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

struct Watcher {
  napi_env env = nullptr;
  int fd = -1;
  uv_poll_t* poll = nullptr;  // allocated with uv_handle_size(), freed in OnPollClosed
  Napi::FunctionReference onData;
  std::unique_ptr<Napi::AsyncContext> async;
  napi_async_cleanup_hook_handle hook = nullptr;
  std::unique_ptr<unsigned char[]> buffer;
  uint32_t seq = 0;
  bool closing = false;     // Close() ran: no more callbacks into JS, no more dumps
  bool pollClosed = false;  // fd closed and the poll handle released (or never made)
  bool wrapped = false;     // the JS object still points at us (its finalizer has not run)
};

void MaybeDelete(Watcher* w) {
  if (w->pollClosed && !w->wrapped) delete w;
}

// Releases what JavaScript holds: outside any callback into JS (a uv close callback, or Close
// before polling ever started), so the async context is never destroyed while in use.
void Release(Watcher* w) {
  try {
    Napi::HandleScope scope(w->env);
    w->onData.Reset();
  } catch (const Napi::Error&) {
    // Called from libuv, where nothing may throw; deleting a reference does not fail while the
    // environment exists, and the cleanup hook keeps it alive until we are done.
  }
  w->async.reset();
  if (w->hook != nullptr) {
    napi_remove_async_cleanup_hook(w->hook);  // tells Node a teardown may go on, if it waits
    w->hook = nullptr;
  }
}

void OnPollClosed(uv_handle_t* handle) {
  auto* w = static_cast<Watcher*>(uv_handle_get_data(handle));
  free(w->poll);
  w->poll = nullptr;
  close(w->fd);  // only now: libuv watched it until the close callback
  w->fd = -1;
  w->pollClosed = true;
  Release(w);
  MaybeDelete(w);
}

// Idempotent; safe from inside onData (the handle is only released in OnPollClosed, on a later
// turn of the loop, after OnReadable has returned).
void Close(Watcher* w) {
  if (w->closing) return;
  w->closing = true;
  if (w->poll != nullptr) {
    uv_poll_stop(w->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(w->poll), OnPollClosed);
    return;
  }
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  w->pollClosed = true;
  Release(w);
}

void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* data) {
  Close(static_cast<Watcher*>(data));  // OnPollClosed removes the hook, which lets Node go on
}

void Finalize(napi_env env, void* data, void* hint) {
  auto* w = static_cast<Watcher*>(data);
  w->wrapped = false;
  Close(w);
  MaybeDelete(w);
}

// Calls onData(err, datagrams) in a callback scope: async hooks see it as its own resource,
// microtasks and nextTicks run after it, and an exception thrown by onData reaches
// process 'uncaughtException' like one thrown from any event handler.
void Deliver(Watcher* w, napi_value err, napi_value datagrams) {
  if (w->closing) return;
  Napi::Env env(w->env);
  try {
    w->onData.MakeCallback(env.Global(), {err, datagrams}, *w->async);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(w->env, e.Value());
  }
}

// Hands over what was read so far (nothing if the batch is empty).
void Flush(Watcher* w, std::vector<Napi::Value>& batch) {
  if (batch.empty()) return;
  Napi::Env env(w->env);
  Napi::Array array = Napi::Array::New(env, batch.size());
  for (size_t i = 0; i < batch.size(); i++) array.Set(static_cast<uint32_t>(i), batch[i]);
  batch.clear();
  Deliver(w, env.Null(), array);
}

void DeliverError(Watcher* w, std::vector<Napi::Value>& batch, int err, const char* syscall) {
  Flush(w, batch);  // first what came before the error, so order is kept
  Napi::Env env(w->env);
  Deliver(w, SystemError(env, err, syscall, {}).Value(), Napi::Array::New(env, 0));
}

void OnReadable(uv_poll_t* handle, int status, int events);

void ReadAll(Watcher* w, uv_poll_t* handle, int status) {
  Napi::HandleScope scope(w->env);
  std::vector<Napi::Value> batch;
  // libuv turns POLLERR into status UV_EBADF and stops the handle (uv__poll_io). POLLERR is
  // how the kernel signals a pending socket error, and netlink's ENOBUFS is one: recv() below
  // returns it (and clears it), then polling starts again.
  const bool stopped = status < 0;
  for (int i = 0; i < kMaxDatagramsPerWakeup && !w->closing; i++) {
    // MSG_TRUNC: the return value is the datagram's real length, even if it did not fit.
    ssize_t n = recv(w->fd, w->buffer.get(), kReadBufferBytes, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      // ENOBUFS is reported once, by this recv(); the datagrams still queued are readable
      // next, so keep reading. Any other error is as unexpected: report it, and let the next
      // wakeup (if the socket is still readable) go on.
      DeliverError(w, batch, err, "recv");
      if (err == ENOBUFS) continue;
      break;
    }
    if (static_cast<size_t>(n) > kReadBufferBytes) {
      DeliverError(w, batch, EMSGSIZE, "recv");  // a cut datagram is as good as lost
      continue;
    }
    batch.push_back(Napi::Buffer<unsigned char>::Copy(w->env, w->buffer.get(), static_cast<size_t>(n)));
  }
  Flush(w, batch);
  if (stopped && !w->closing) {
    int rc = uv_poll_start(handle, kUvReadable, OnReadable);
    if (rc != 0) DeliverError(w, batch, -rc, "uv_poll_start");
  }
}

void OnReadable(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<Watcher*>(uv_handle_get_data(reinterpret_cast<uv_handle_t*>(handle)));
  if (w->closing) return;
  try {
    ReadAll(w, handle, status);
  } catch (const Napi::Error&) {
    // No exception may leave a libuv callback. Making a Buffer or an Array fails only when the
    // environment can no longer run JavaScript: a Worker or the process is ending, and its
    // loop still turns while handles close. Nothing can be delivered any more: stop reading
    // (the cleanup hook or the finalizer does the rest).
    Close(w);
  }
}

// Marks the objects netlinkOpen returns: napi_unwrap alone would hand back the pointer of any
// Node-API wrapped object a caller passes as `this` (dump.call(other, ...)).
constexpr napi_type_tag kHandleTag = {0x6e6c77617463685full, 0x7672662d7265736full};

Watcher* Unwrap(const Napi::CallbackInfo& info, const char* fn) {
  napi_env env = info.Env();
  bool tagged = false;
  void* data = nullptr;
  if (!info.This().IsObject() || napi_check_object_type_tag(env, info.This(), &kHandleTag, &tagged) != napi_ok ||
      !tagged || napi_unwrap(env, info.This(), &data) != napi_ok || data == nullptr) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": not called on a netlink handle");
  }
  return static_cast<Watcher*>(data);
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
  Close(Unwrap(info, "close"));
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
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    throw Napi::Error::New(env, "netlinkOpen: no event loop");
  }

  auto* w = new Watcher();
  w->env = env;
  try {
    w->fd = OpenSocket(env);
    w->buffer.reset(new unsigned char[kReadBufferBytes]);

    Napi::Object handle = Napi::Object::New(env);
    handle.DefineProperties({
        Napi::PropertyDescriptor::Function(env, handle, "dump", Dump),
        Napi::PropertyDescriptor::Function(env, handle, "close", CloseMethod),
    });
    // No strong reference to the handle is kept: dropping it without close() lets the garbage
    // collector run Finalize, which closes the socket.
    NAPI_THROW_IF_FAILED(env, napi_wrap(env, handle, w, Finalize, nullptr, nullptr), Napi::Value());
    w->wrapped = true;
    NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, handle, &kHandleTag), Napi::Value());
    w->onData = Napi::Persistent(info[0].As<Napi::Function>());
    // The async resource is an object of its own: naming the handle would keep it reachable.
    w->async.reset(new Napi::AsyncContext(env, "vrf-resolver:netlink"));
    NAPI_THROW_IF_FAILED(env, napi_add_async_cleanup_hook(env, OnEnvCleanup, w, &w->hook), Napi::Value());

    auto* poll = static_cast<uv_poll_t*>(malloc(uv_handle_size(kUvPoll)));
    if (poll == nullptr) throw SystemError(env, ENOMEM, "uv_poll_init", {});
    int rc = uv_poll_init(loop, poll, w->fd);
    if (rc != 0) {
      free(poll);  // never initialised: no uv_close needed
      throw SystemError(env, -rc, "uv_poll_init", {});
    }
    w->poll = poll;  // from here on only uv_close (in Close) releases it
    uv_handle_set_data(reinterpret_cast<uv_handle_t*>(poll), w);
    rc = uv_poll_start(poll, kUvReadable, OnReadable);
    if (rc != 0) throw SystemError(env, -rc, "uv_poll_start", {});
    return handle;
  } catch (...) {
    // Every partial state closes the same way; the memory goes when the poll handle is closed
    // and (if the object was made) when its finalizer runs.
    Close(w);
    MaybeDelete(w);
    throw;
  }
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen, "netlinkOpen"));
}

}  // namespace vrf
