# Compiles a text asset (the live page, the bench report) into a function returning it,
# `std::string_view FUNCTION() noexcept` declared in HEADER, so the binary needs no files
# at run time. Regenerated when the asset changes (it is a configure dependency); the
# asset is kept as a real file so it can be read and edited as HTML.
function(tether_embed_text input header function output)
  file(READ ${input} TETHER_EMBED_CONTENT)
  string(FIND "${TETHER_EMBED_CONTENT}" ")tether_embed\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${input} contains the raw string delimiter )tether_embed\"")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input})
  file(RELATIVE_PATH TETHER_EMBED_INPUT ${PROJECT_SOURCE_DIR} ${input})
  set(TETHER_EMBED_HEADER ${header})
  set(TETHER_EMBED_FUNCTION ${function})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/embed.cpp.in ${output} @ONLY)
endfunction()
