// Header-only module: the driver itself comes from libFuzzer (compiler-rt).
#include "CFuzzDriver.h"
