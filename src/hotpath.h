// What a client thread of the load generator runs for every round trip.
#pragma once

/// Marks a function on that path. GCC and Clang optimize it for speed and place it in
/// .text.hot, which the linker gathers in one place: after each sleep in epoll a thread finds
/// its code cold (the server ran in between), and a few neighbouring pages miss the caches and
/// the TLB less than the same code spread over the binary's 4 MB.
#if defined(__GNUC__)
#define HTAP_HOT __attribute__((hot))
#else
#define HTAP_HOT
#endif
