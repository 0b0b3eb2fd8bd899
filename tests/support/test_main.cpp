// The Boost.Test entry point shared by every test suite.
#define BOOST_TEST_MODULE bdp
#include <boost/test/unit_test.hpp>
