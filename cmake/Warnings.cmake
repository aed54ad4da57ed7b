# Applied to the project's own targets only, never to dependencies.
function(slmkit_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>
                                           -Wcast-align -Wunused -Wimplicit-fallthrough)
  if(SLMKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O3 flags libstdc++'s own std::vector<std::byte>::insert as overflowing
    # (-Wstringop-overflow false positives, fixed in GCC 13); keep them warnings, not errors.
    target_compile_options(${target} PRIVATE -Wno-error=stringop-overflow -Wno-error=array-bounds
                                             -Wno-error=restrict)
    if(SLMKIT_SANITIZE)
      # Under -fsanitize=address GCC 12 also reports libstdc++'s std::regex internals
      # (std::function members of its NFA states) as maybe-uninitialized.
      target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
    endif()
  endif()
endfunction()
