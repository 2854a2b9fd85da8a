#include "base/common.h"
