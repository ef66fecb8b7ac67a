"""Application services: the only API the faces (GUI, REST/WS, CLI, automation) see."""
