#ifndef CNCURSESW_SHIM_H
#define CNCURSESW_SHIM_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <wchar.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <ncursesw/curses.h>

// Macros and globals Swift cannot import (or rejects in Swift 6 mode) as functions.
static inline attr_t rr_A_BOLD(void) { return A_BOLD; }
static inline attr_t rr_A_DIM(void) { return A_DIM; }
static inline attr_t rr_A_REVERSE(void) { return A_REVERSE; }
static inline attr_t rr_A_UNDERLINE(void) { return A_UNDERLINE; }
static inline attr_t rr_A_NORMAL(void) { return A_NORMAL; }
static inline WINDOW *rr_stdscr(void) { return stdscr; }
static inline int rr_LINES(void) { return LINES; }
static inline int rr_COLS(void) { return COLS; }
static inline int rr_COLORS(void) { return COLORS; }
static inline int rr_COLOR_PAIRS(void) { return COLOR_PAIRS; }
static inline void rr_getmaxyx(WINDOW *w, int *y, int *x) { int yy, xx; getmaxyx(w, yy, xx); *y = yy; *x = xx; }
static inline int rr_get_wch(wint_t *out) { return wget_wch(stdscr, out); }
static inline int rr_KEY_CODE_YES(void) { return KEY_CODE_YES; }
static inline int rr_KEY_F(int n) { return KEY_F(n); }
static inline int rr_attrset(attr_t a, short pair) { return wattr_set(stdscr, a, pair, NULL); }
static inline int rr_mvaddstr(int y, int x, const char *s) { return mvwaddstr(stdscr, y, x, s); }
// The real terminal size (ncurses only learns it from SIGWINCH, which another thread may take).
static inline int rr_winsize(int *rows, int *cols) {
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return -1;
    *rows = ws.ws_row; *cols = ws.ws_col;
    return 0;
}
#endif
