/*
 * banned.h: functions we do not use (after git's banned.h).  Included last
 * by every source file of ours, so a use fails to compile.
 */
#ifndef MONITOR_BANNED_H
#define MONITOR_BANNED_H

#define GM_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) GM_BANNED(strcpy)
#undef strcat
#define strcat(x, y) GM_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) GM_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) GM_BANNED(strncat)
#undef strtok
#define strtok(x, y) GM_BANNED(strtok)
#undef sprintf
#define sprintf(...) GM_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) GM_BANNED(vsprintf)
#undef gets
#define gets(x) GM_BANNED(gets)

#endif
