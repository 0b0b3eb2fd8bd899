// Symbol visibility for the bdp SDK library.
#pragma once

#if defined(BDP_SDK_BUILDING)
#define BDP_SDK_API __attribute__((visibility("default")))
#else
#define BDP_SDK_API
#endif
