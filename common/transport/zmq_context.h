// The one ZeroMQ context of the process, shared by every fleet socket and the ZAP handler
// (ZeroMQ's ZAP endpoint is per context). Internal to common/transport.
//
// Thread safety: the context is thread safe; it is created on first use and never destroyed
// (sockets may outlive static destructors at exit).
#ifndef MEM1_COMMON_TRANSPORT_ZMQ_CONTEXT_H_
#define MEM1_COMMON_TRANSPORT_ZMQ_CONTEXT_H_

namespace mem1 {

void* FleetZmqContext();

}  // namespace mem1

#endif  // MEM1_COMMON_TRANSPORT_ZMQ_CONTEXT_H_
