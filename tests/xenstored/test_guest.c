#include "xst.h"
