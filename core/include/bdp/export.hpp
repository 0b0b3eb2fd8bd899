// Symbol visibility for the bdp core library.
#pragma once

#if defined(BDP_CORE_BUILDING)
#define BDP_CORE_API __attribute__((visibility("default")))
#else
#define BDP_CORE_API
#endif
