// A socket read on Node's own event loop through a uv_poll_t, owned by a JavaScript handle
// object: the lifetime rules that netlink.cc and udp_batch.cc share.
//
// Lifetime: the uv_poll_t must outlive uv_close() until its close callback, and the fd must
// stay open until then (libuv still watches it), so both are released in the close callback.
// The C++ object is deleted once the poll handle is closed *and* no JS object points at it any
// more (the handle's finalizer ran, and those of its PollMethod functions), whichever comes
// last, so neither a late method call nor a late libuv callback touches freed memory. At
// environment teardown (process exit, a Worker ending) an async cleanup hook closes the socket
// and Node waits for the close callback.
#pragma once

#include <memory>

#include "addon.h"
// libuv: the poll handle that wakes us on Node's loop (CMakeLists.txt puts Node's include
// directory, which has uv.h, on the path).
#include <uv.h>

namespace vrf {

class PolledFd {
 public:
  virtual ~PolledFd() = default;

  napi_env env = nullptr;
  int fd = -1;
  bool closing = false;  // Close() ran: no more callbacks into JS

 protected:
  // Called on each wakeup with a handle scope open. status < 0: libuv stopped the handle
  // (POLLERR, turned into UV_EBADF by uv__poll_io); Resume() starts it again. A Napi::Error
  // thrown here (the environment can no longer run JavaScript) closes the socket.
  virtual void Readable(int status) = 0;
  // Calls the JS callback in a callback scope: async hooks see it as its own resource,
  // microtasks and nextTicks run after it, and an exception it throws reaches process
  // 'uncaughtException' like one thrown from any event handler (the result is then empty).
  Napi::Value Call(const std::initializer_list<napi_value>& args);
  // After a status < 0 wakeup: polls again; returns libuv's error (negative) or 0.
  int Resume();
  // Drops the subclass's own references to JS values, when the callback's is dropped.
  virtual void ReleaseJs() {}
  // Closes what the subclass owns besides fd, when PollClose runs (close() or the handle's
  // finalizer): a method that outlives the handle must find nothing left open.
  virtual void CloseOwned() {}

 private:
  uv_poll_t* poll_ = nullptr;  // allocated with uv_handle_size(), freed when closed
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> async_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  bool pollClosed_ = false;  // fd closed and the poll handle released (or never made)
  int holders_ = 0;          // JS objects that still point at us: the handle, PollMethod functions

  friend void PollStart(Napi::Env, PolledFd*, Napi::Object, Napi::Function, const char*, const napi_type_tag*);
  friend void PollClose(PolledFd*);
  friend void PollUnref(PolledFd*);
  friend void PollAbandon(PolledFd*);
  friend void PollMethod(Napi::Env, PolledFd*, Napi::Object, const char*, napi_callback);
  static void MaybeDelete(PolledFd* p);
  static void Release(PolledFd* p);
  static void OnPollClosed(uv_handle_t* handle);
  static void OnReadable(uv_poll_t* handle, int status, int events);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* data);
  static void Finalize(napi_env env, void* data, void* hint);
  static void MethodFinalize(napi_env env, void* data, void* hint);
};

// Wraps `handle` (tagged with `tag`) around p, keeps `callback`, and polls p->fd for reading.
// p->env and p->fd must be set. On failure p is closed (its fd too) and freed, and the error
// thrown: the caller must not touch p after a throw.
void PollStart(Napi::Env env, PolledFd* p, Napi::Object handle, Napi::Function callback, const char* resource,
               const napi_type_tag* tag);

// After PollStart: the poll handle no longer keeps the event loop alive (uv_unref), for a
// socket that only matters while something else (a timer of each exchange) is pending.
void PollUnref(PolledFd* p);

// Idempotent; safe from inside the callback (the handle is only released in the close
// callback, on a later turn of the loop).
void PollClose(PolledFd* p);

// For a PolledFd made before PollStart, when something fails first: closes its fd and frees it.
void PollAbandon(PolledFd* p);

// Defines handle[name] as a function whose data is p, for a method called once per query: the
// callback takes p from napi_get_cb_info's data instead of unwrapping `this` (a type-tag check
// and an unwrap are two private-symbol lookups, a tenth of a cache miss's Node-API cost:
// issue 13). The function holds p like the handle does, so p outlives every call of it; after
// close() the method must check `closing`. After PollStart; throws on failure (p is then
// still the handle's, closed by its finalizer).
void PollMethod(Napi::Env env, PolledFd* p, Napi::Object handle, const char* name, napi_callback cb);

// The PolledFd behind `this` of a method call, checked by its type tag: napi_unwrap alone would
// hand back the pointer of any Node-API wrapped object a caller passes as `this`.
// `kind` names the handle in the TypeError ("dump: not called on a netlink handle").
PolledFd* PollUnwrap(const Napi::CallbackInfo& info, const napi_type_tag* tag, const char* kind, const char* fn);

}  // namespace vrf
