/* header_race.h: a helper defined in a header, as projects do. */
#ifndef HEADER_RACE_H
#define HEADER_RACE_H

static int hits;

static inline void count_hit(void)
{
    hits++; /* the race: reports must name this file and line */
}

#endif
