// Entry point of the vrf_socket addon: gathers the exports of each .cc file (each declares
// its Init* in addon.h).
#include "addon.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vrf::InitSocket(env, exports);
  vrf::InitNotify(env, exports);
  vrf::InitListenFd(env, exports);
  vrf::InitNetlink(env, exports);
  vrf::InitUdpBatch(env, exports);
  vrf::InitUdpExchange(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(vrf_socket, Init)
