# cmake -DIN=perfwire.fbs -DOUT=file.cc -P embed_schema.cmake
file(READ ${IN} text)
file(WRITE ${OUT} "// Generated from perfwire.fbs; do not edit.\n#include \"schema_text.h\"\nnamespace perfwire {\nconst char kSchemaText[] = R\"PWSCHEMA(${text})PWSCHEMA\";\n}\n")
